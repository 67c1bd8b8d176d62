package csvstore

// omap is a map that remembers insertion order, with O(1) add, lookup and
// removal. A removed node keeps its links, so that undoing removals in
// reverse order (restore) puts each node back exactly where it was: the
// directory rolls a failed batch back this way.
type omap[V any] struct {
	m    map[string]*node[V]
	root node[V] // sentinel: root.next is the oldest, root.prev the newest
	// version changes with every add, remove and restore, so that a
	// snapshot of the entries can be kept until they change.
	version uint64
}

type node[V any] struct {
	key        string
	val        V
	prev, next *node[V]
}

func newOmap[V any]() *omap[V] {
	o := &omap[V]{m: make(map[string]*node[V])}
	o.root.next, o.root.prev = &o.root, &o.root
	return o
}

func (o *omap[V]) len() int { return len(o.m) }

func (o *omap[V]) get(k string) (V, bool) {
	n, ok := o.m[k]
	if !ok {
		var zero V
		return zero, false
	}
	return n.val, true
}

func (o *omap[V]) has(k string) bool { _, ok := o.m[k]; return ok }

// add appends k (which must be absent) as the newest entry and returns its
// node.
func (o *omap[V]) add(k string, v V) *node[V] {
	n := &node[V]{key: k, val: v, prev: o.root.prev, next: &o.root}
	n.prev.next = n
	o.root.prev = n
	o.m[k] = n
	o.version++
	return n
}

// remove unlinks k and returns its node (nil when absent) for restore.
func (o *omap[V]) remove(k string) *node[V] {
	n, ok := o.m[k]
	if !ok {
		return nil
	}
	n.prev.next = n.next
	n.next.prev = n.prev
	delete(o.m, k)
	o.version++
	return n
}

// restore relinks a node removed by the latest remove not yet undone.
func (o *omap[V]) restore(n *node[V]) {
	n.prev.next = n
	n.next.prev = n
	o.m[n.key] = n
	o.version++
}

// each calls f for every entry, oldest first.
func (o *omap[V]) each(f func(k string, v V)) {
	for n := o.root.next; n != &o.root; n = n.next {
		f(n.key, n.val)
	}
}
