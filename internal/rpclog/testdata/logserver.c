/*
 * logserver: a C server of P2P_LOG_PROG made with rpcgen -m (dispatch
 * routine, no main) and libtirpc, for the interop tests and the benchmark.
 *
 *   logserver port     (0: any free port)
 *
 * It listens on 127.0.0.1, does not touch rpcbind, writes "PORT <n>" to
 * stderr once ready, and prints each entry as PROTOCOL.md §6 says,
 * flushing every line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <rpc/rpc.h>
#include "p2p_log.h"

void p2p_log_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

void *log_operation_1_svc(log_entry *e, struct svc_req *req) {
	static char result;
	(void)req;
	if (strcmp(e->operation, "PUBLISH") == 0 || strcmp(e->operation, "DELETE") == 0)
		printf("%s %s %s %s\n", e->username, e->operation, e->filename, e->datetime);
	else
		printf("%s %s %s\n", e->username, e->operation, e->datetime);
	fflush(stdout);
	return &result;
}

int p2p_log_prog_1_freeresult(SVCXPRT *transp, xdrproc_t xdr_result, caddr_t result) {
	(void)transp;
	xdr_free(xdr_result, result);
	return 1;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: logserver port\n");
		return 2;
	}
	int sock = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sin;
	if (bind(sock, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(sock, 128) < 0 ||
	    getsockname(sock, (struct sockaddr *)&sin, &len) < 0) {
		perror("logserver: bind");
		return 1;
	}
	SVCXPRT *transp = svctcp_create(sock, 0, 0);
	if (transp == NULL) {
		fprintf(stderr, "logserver: svctcp_create failed\n");
		return 1;
	}
	/* Protocol 0: do not register with the portmapper. */
	if (!svc_register(transp, P2P_LOG_PROG, P2P_LOG_VERS, p2p_log_prog_1, 0)) {
		fprintf(stderr, "logserver: svc_register failed\n");
		return 1;
	}
	fprintf(stderr, "PORT %d\n", ntohs(sin.sin_port));
	fflush(stderr);
	svc_run();
	return 1;
}
