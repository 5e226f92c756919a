/* sim_listen.h: where kdsim waits for its debugger: a pseudo-terminal
 * (`pty`, the slave path is what a host opens as serial:), a TCP or Unix
 * stream listener (`tcp:PORT`, `tcp:HOST:PORT`, `unix:PATH`; one host at a
 * time), or a UDP socket that pokes a KDNET host
 * (`kdnet:host=IP,port=P,key=K[,tport=Q]`, from local port Q or any). */
#ifndef SIM_LISTEN_H
#define SIM_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_listen_kind { SIM_LISTEN_PTY, SIM_LISTEN_TCP, SIM_LISTEN_UNIX, SIM_LISTEN_KDNET };

struct sim_listen {
    enum sim_listen_kind kind;
    int lfd;             /* listening socket (tcp, unix) or -1 */
    int fd;              /* host stream, pty master or UDP socket; -1 when none */
    bool hup;            /* pty: no host has the slave open */
    char where[160];     /* "pty:/dev/pts/4", "tcp:127.0.0.1:40123", ... */
    char unix_path[108]; /* removed at close */
    char key[128];       /* KDNET key text (never printed) */
    uint8_t host_ip[4], local_ip[4];
    uint16_t host_port, local_port;
};

/* Opens the endpoint of uri. KD_OK, or KD_ERR_ARG (bad uri) / KD_ERR_IO with
 * the reason in err[cap]. */
int sim_listen_open(const char *uri, struct sim_listen *l, char *err, size_t cap);

/* Stream listeners: takes a waiting connection if none is open. 1 when one
 * was accepted, 0 otherwise. */
int sim_listen_accept(struct sim_listen *l);

/* Reads what is there: KD_OK with *n (0: nothing now), KD_ERR_CLOSED when
 * the host went away (the stream is dropped; a listener takes the next). */
int sim_listen_recv(struct sim_listen *l, uint8_t *buf, size_t cap, size_t *n);

/* Sends all of buf (one datagram on KDNET); without a host it is lost, as on a wire. */
int sim_listen_send(struct sim_listen *l, const uint8_t *buf, size_t len);

/* The descriptor to poll for input (-1: poll nothing, retry later) */
int sim_listen_poll_fd(const struct sim_listen *l);

void sim_listen_close(struct sim_listen *l);

#endif
