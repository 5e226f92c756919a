/* kd_status.h: the one status convention of kdproto/ and monitor/.
 * 0 is success, every error is negative; kd_status_str() gives the text.
 * Details beyond the code live in the handle that failed, never in a global. */
#ifndef KD_STATUS_H
#define KD_STATUS_H

enum kd_status {
    KD_OK = 0,
    KD_ERR_TRUNCATED = -1,    /* input ends before the structure does */
    KD_ERR_CHECKSUM = -2,     /* KD payload checksum mismatch */
    KD_ERR_LENGTH = -3,       /* impossible or oversized length field */
    KD_ERR_TRAILER = -4,      /* serial data packet without its 0xAA trailer */
    KD_ERR_FORMAT = -5,       /* bytes that are not what the structure allows */
    KD_ERR_KEY = -6,          /* malformed KDNET key text */
    KD_ERR_AUTH = -7,         /* KDNET HMAC does not verify (wrong key?) */
    KD_ERR_CRYPTO = -8,       /* OpenSSL failed */
    KD_ERR_NOSPACE = -9,      /* caller's output buffer too small */
    KD_ERR_NOMEM = -10,       /* allocation failed */
    KD_ERR_IO = -11,          /* operating-system I/O error */
    KD_ERR_TIMEOUT = -12,     /* no answer before the deadline */
    KD_ERR_UNSUPPORTED = -13, /* not possible on this transport/target */
    KD_ERR_TARGET = -14,      /* the target answered with a failure status */
    KD_ERR_CLOSED = -15,      /* the link was closed by the peer */
    KD_ERR_ARG = -16,         /* invalid argument from the caller */
    KD_ERR_NOTFOUND = -17,    /* a looked-up thing does not exist */
    KD_ERR_STATE = -18,       /* operation not valid in the current state */
    KD_ERR_NOKEY = -19,       /* KDNET data channel without the handshake that keys it */
};

/* Static text for a status; never NULL. */
const char *kd_status_str(int status);

#endif
