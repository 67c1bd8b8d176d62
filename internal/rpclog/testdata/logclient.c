/*
 * logclient: a C client of P2P_LOG_PROG made with rpcgen and libtirpc, for
 * the interop tests. Usage:
 *
 *   logclient [-a] [-n count] host port user op file datetime [user op file datetime ...]
 *
 * Port 0 finds the server through rpcbind: clnt_create(host, ..., "tcp").
 * Otherwise it connects to that port (clnttcp_create), no rpcbind needed.
 * -a sends AUTH_SYS credentials instead of AUTH_NONE. Each entry is sent
 * count times (default 1), in order; the exit status is 0 when every call
 * got a reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <rpc/rpc.h>
#include "p2p_log.h"

int main(int argc, char **argv) {
	int opt, count = 1, authsys = 0;
	while ((opt = getopt(argc, argv, "an:")) != -1) {
		switch (opt) {
		case 'a': authsys = 1; break;
		case 'n': count = atoi(optarg); break;
		default: fprintf(stderr, "usage\n"); return 2;
		}
	}
	if (argc - optind < 6 || (argc - optind - 2) % 4 != 0) {
		fprintf(stderr, "usage: logclient [-a] [-n count] host port user op file datetime...\n");
		return 2;
	}
	const char *host = argv[optind];
	int port = atoi(argv[optind + 1]);
	CLIENT *clnt;
	if (port == 0) {
		clnt = clnt_create(host, P2P_LOG_PROG, P2P_LOG_VERS, "tcp");
	} else {
		struct sockaddr_in sin;
		int sock = RPC_ANYSOCK;
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
			fprintf(stderr, "bad IPv4 address %s\n", host);
			return 2;
		}
		clnt = clnttcp_create(&sin, P2P_LOG_PROG, P2P_LOG_VERS, &sock, 0, 0);
	}
	if (clnt == NULL) {
		clnt_pcreateerror(host);
		return 1;
	}
	if (authsys) {
		auth_destroy(clnt->cl_auth);
		clnt->cl_auth = authunix_create_default();
	}
	for (int i = optind + 2; i < argc; i += 4) {
		log_entry e;
		e.username = argv[i];
		e.operation = argv[i + 1];
		e.filename = argv[i + 2];
		e.datetime = argv[i + 3];
		for (int n = 0; n < count; n++) {
			if (log_operation_1(&e, clnt) == NULL) {
				clnt_perror(clnt, "log_operation_1");
				return 1;
			}
		}
	}
	clnt_destroy(clnt);
	return 0;
}
