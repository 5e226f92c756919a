/* kd_status.c: text for each status code. */
#include "kd_status.h"

const char *kd_status_str(int status)
{
    switch ((enum kd_status)status) {
    case KD_OK: return "success";
    case KD_ERR_TRUNCATED: return "truncated input";
    case KD_ERR_CHECKSUM: return "bad checksum";
    case KD_ERR_LENGTH: return "impossible length";
    case KD_ERR_TRAILER: return "missing packet trailer";
    case KD_ERR_FORMAT: return "malformed data";
    case KD_ERR_KEY: return "malformed KDNET key";
    case KD_ERR_AUTH: return "HMAC does not verify (wrong key?)";
    case KD_ERR_CRYPTO: return "cryptography failure";
    case KD_ERR_NOSPACE: return "output buffer too small";
    case KD_ERR_NOMEM: return "out of memory";
    case KD_ERR_IO: return "I/O error";
    case KD_ERR_TIMEOUT: return "timed out";
    case KD_ERR_UNSUPPORTED: return "not supported";
    case KD_ERR_TARGET: return "target reported failure";
    case KD_ERR_CLOSED: return "connection closed";
    case KD_ERR_ARG: return "invalid argument";
    case KD_ERR_NOTFOUND: return "not found";
    case KD_ERR_STATE: return "invalid in the current state";
    case KD_ERR_NOKEY: return "no data key (handshake not seen)";
    }
    return "unknown error";
}
