/* transport_sock.h: the byte-stream socket code TCP and Unix share: connect
 * with a deadline, listen and accept inside reads, reads and writes with
 * deadlines. Private to kdproto/transport_{tcp,unix,sock}.c. */
#ifndef TRANSPORT_SOCK_H
#define TRANSPORT_SOCK_H

#include "transport_impl.h"

#include <sys/socket.h>

#define TRANSPORT_SOCK_CONNECT_MS 5000 /* open() has no deadline argument: this is it */

struct transport_sock {
    int listen_fd; /* listeners: the bound socket; clients: -1 */
    int fd;        /* the connected peer, or -1 */
    bool closed;   /* client whose peer went away: reads say KD_ERR_CLOSED */
    char peer[80]; /* listeners: who connected last */
};

/* Empty state (both descriptors -1). */
void transport_sock_init(struct transport_sock *s);
void transport_sock_fini(struct transport_sock *s);

/* Connects a stream socket to addr within TRANSPORT_SOCK_CONNECT_MS. KD_OK
 * and s->fd set, or a status with *err_no = the errno. */
int transport_sock_connect(struct transport_sock *s, const struct sockaddr *addr,
                           socklen_t addr_len, int *err_no);

/* Binds and listens; KD_OK or a status with *err_no set. */
int transport_sock_listen(struct transport_sock *s, const struct sockaddr *addr, socklen_t addr_len,
                          int *err_no);

int transport_sock_fd(const struct transport_sock *s);

int transport_sock_read(struct transport *t, struct transport_sock *s, uint8_t *buf, size_t cap,
                        int64_t deadline, size_t *got);
int transport_sock_write(struct transport *t, struct transport_sock *s, const uint8_t *buf,
                         size_t len, int64_t deadline);

/* The bound port of a TCP listener, or -1. */
int transport_sock_port(const struct transport_sock *s);

/* "192.0.2.1:5555" / "[::1]:5555" / "local peer" for a socket address. */
void transport_sock_format(const struct sockaddr *sa, char *buf, size_t len);

#endif
