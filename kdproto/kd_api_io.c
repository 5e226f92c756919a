/* kd_api_io.c: DBGKD_DEBUG_IO (DbgPrint / DbgPrompt text) and DBGKD_FILE_IO
 * (.kdfiles requests, which a host must answer or the target stalls). */
#include "kd_api.h"

#include <string.h>

#include "kd_le.h"
#include "kd_status.h"

_Static_assert(KD_API_DEBUG_IO_SIZE == 0x10, "DBGKD_DEBUG_IO header is 0x10 bytes");
_Static_assert(KD_API_FILE_IO_SIZE == 0x40, "DBGKD_FILE_IO header is 0x40 bytes");
_Static_assert(KD_API_FILE_IO_SIZE == 0x08 + KD_API_FILE_IO_UNION_SIZE, "union at 0x08");
_Static_assert(sizeof(((struct kd_debug_io *)0)->raw) == KD_API_DEBUG_IO_SIZE - 0x08, "raw");
_Static_assert(sizeof(((struct kd_file_io *)0)->raw) == KD_API_FILE_IO_UNION_SIZE, "raw");

#define DEBUG_IO_DATA_MAX (KD_PACKET_MAX - KD_API_DEBUG_IO_SIZE)
#define FILE_IO_DATA_MAX (KD_PACKET_MAX - KD_API_FILE_IO_SIZE)

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- DBGKD_DEBUG_IO -------------------------------------------------------------- */

/* Fills known, u and text_len from raw (union at 0x08) and data. */
static void load_debug(struct kd_debug_io *d)
{
    memset(&d->u, 0, sizeof d->u);
    d->known = true;
    d->text_len = 0;
    switch (d->api) {
    case DbgKdPrintStringApi:
        d->u.print.length = kd_le32(d->raw + 0x00);
        d->text_len = min_size(d->u.print.length, d->data_len);
        break;
    case DbgKdGetStringApi:
        d->u.get.prompt_length = kd_le32(d->raw + 0x00);
        d->u.get.read_length = kd_le32(d->raw + 0x04);
        d->text_len = min_size(d->u.get.prompt_length, d->data_len);
        break;
    default: d->known = false; break;
    }
}

int kd_api_io_debug_decode(const uint8_t *buf, size_t len, struct kd_debug_io *d)
{
    if (len < KD_API_DEBUG_IO_SIZE)
        return KD_ERR_TRUNCATED;
    if (len > KD_PACKET_MAX)
        return KD_ERR_LENGTH;
    d->api = kd_le32(buf + 0x00);
    d->processor_level = kd_le16(buf + 0x04);
    d->processor = kd_le16(buf + 0x06);
    memcpy(d->raw, buf + 0x08, sizeof d->raw);
    d->data_len = len - KD_API_DEBUG_IO_SIZE;
    d->data = d->data_len ? buf + KD_API_DEBUG_IO_SIZE : NULL;
    load_debug(d);
    return KD_OK;
}

int kd_api_io_debug_encode(const struct kd_debug_io *d, uint8_t *out, size_t cap, size_t *used)
{
    *used = 0;
    if (d->data_len > DEBUG_IO_DATA_MAX)
        return KD_ERR_LENGTH;
    if (d->data_len && !d->data)
        return KD_ERR_ARG;
    if (cap < KD_API_DEBUG_IO_SIZE + d->data_len)
        return KD_ERR_NOSPACE;
    if (d->data_len)
        memmove(out + KD_API_DEBUG_IO_SIZE, d->data, d->data_len);
    kd_put32(out + 0x00, d->api);
    kd_put16(out + 0x04, d->processor_level);
    kd_put16(out + 0x06, d->processor);
    memcpy(out + 0x08, d->raw, sizeof d->raw);
    if (d->api == DbgKdPrintStringApi) {
        kd_put32(out + 0x08, d->u.print.length);
    } else if (d->api == DbgKdGetStringApi) {
        kd_put32(out + 0x08, d->u.get.prompt_length);
        kd_put32(out + 0x0C, d->u.get.read_length);
    }
    *used = KD_API_DEBUG_IO_SIZE + d->data_len;
    return KD_OK;
}

/* Common start of the builders: raw holds a then b, data the text. */
static int debug_build(struct kd_debug_io *d, uint32_t api, uint16_t processor, uint32_t a,
                       uint32_t b, const char *text, uint32_t len)
{
    if (len > DEBUG_IO_DATA_MAX)
        return KD_ERR_LENGTH;
    if (len && !text)
        return KD_ERR_ARG;
    memset(d, 0, sizeof *d);
    d->api = api;
    d->processor = processor;
    kd_put32(d->raw + 0x00, a);
    kd_put32(d->raw + 0x04, b);
    d->data = len ? (const uint8_t *)text : NULL;
    d->data_len = len;
    load_debug(d);
    return KD_OK;
}

int kd_api_io_print_string(struct kd_debug_io *d, uint16_t processor, const char *text,
                           uint32_t len)
{
    return debug_build(d, DbgKdPrintStringApi, processor, len, 0, text, len);
}

int kd_api_io_get_string(struct kd_debug_io *d, uint16_t processor, const char *prompt,
                         uint32_t len, uint32_t max_read)
{
    return debug_build(d, DbgKdGetStringApi, processor, len, max_read, prompt, len);
}

int kd_api_io_get_string_reply(struct kd_debug_io *reply, const struct kd_debug_io *req,
                               const char *text, uint32_t len)
{
    if (len > req->u.get.read_length)
        return KD_ERR_LENGTH; /* more than the target has room for */
    return debug_build(reply, DbgKdGetStringApi, req->processor, req->u.get.prompt_length, len,
                       text, len);
}

/* ---- DBGKD_FILE_IO --------------------------------------------------------------- */

static size_t utf8_put(uint8_t *b, uint32_t c)
{
    if (c < 0x80) {
        b[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        b[0] = (uint8_t)(0xC0 | (c >> 6));
        b[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        b[0] = (uint8_t)(0xE0 | (c >> 12));
        b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    b[0] = (uint8_t)(0xF0 | (c >> 18));
    b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    b[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* UTF-16LE src[n] (an odd last byte is ignored) up to its first NUL into
 * dst[cap] as UTF-8, always terminated, cut on a character boundary.
 * Surrogate pairs are joined; unpaired surrogates and C0/C1 controls become
 * '?' so the result is valid UTF-8 and safe to print. */
static void utf16_to_utf8(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i + 2 <= n;) {
        uint32_t c = kd_le16(src + i);
        uint8_t b[4];
        size_t k;
        i += 2;
        if (c == 0)
            break;
        if (c >= 0xD800 && c < 0xDC00 && i + 2 <= n) {
            uint32_t lo = kd_le16(src + i);
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if ((c >= 0xD800 && c < 0xE000) || c < 0x20 || (c >= 0x7F && c < 0xA0))
            c = '?';
        k = utf8_put(b, c);
        if (o + k + 1 > cap)
            break;
        memcpy(dst + o, b, k);
        o += k;
    }
    dst[o] = '\0';
}

/* Fills known, u and path from raw (offsets relative to the union at 0x08). */
static void load_file(struct kd_file_io *f)
{
    const uint8_t *u = f->raw;
    memset(&f->u, 0, sizeof f->u);
    f->path[0] = '\0';
    f->known = true;
    switch (f->api) {
    case DbgKdCreateFileApi:
        f->u.create.desired_access = kd_le32(u + 0x00);
        f->u.create.file_attributes = kd_le32(u + 0x04);
        f->u.create.share_access = kd_le32(u + 0x08);
        f->u.create.create_disposition = kd_le32(u + 0x0C);
        f->u.create.create_options = kd_le32(u + 0x10);
        f->u.create.handle = kd_le64(u + 0x18);
        f->u.create.length = kd_le64(u + 0x20);
        utf16_to_utf8(f->path, sizeof f->path, f->data, f->data_len);
        break;
    case DbgKdReadFileApi:
    case DbgKdWriteFileApi:
        f->u.rw.handle = kd_le64(u + 0x00);
        f->u.rw.offset = kd_le64(u + 0x08);
        f->u.rw.length = kd_le32(u + 0x10);
        break;
    case DbgKdCloseFileApi: f->u.close.handle = kd_le64(u + 0x00); break;
    default: f->known = false; break;
    }
}

/* Raw union, then the fields of the known layout over it, into u[0x38]. */
static void store_file(const struct kd_file_io *f, uint8_t *u)
{
    memcpy(u, f->raw, KD_API_FILE_IO_UNION_SIZE);
    switch (f->api) {
    case DbgKdCreateFileApi:
        kd_put32(u + 0x00, f->u.create.desired_access);
        kd_put32(u + 0x04, f->u.create.file_attributes);
        kd_put32(u + 0x08, f->u.create.share_access);
        kd_put32(u + 0x0C, f->u.create.create_disposition);
        kd_put32(u + 0x10, f->u.create.create_options);
        kd_put64(u + 0x18, f->u.create.handle);
        kd_put64(u + 0x20, f->u.create.length);
        break;
    case DbgKdReadFileApi:
    case DbgKdWriteFileApi:
        kd_put64(u + 0x00, f->u.rw.handle);
        kd_put64(u + 0x08, f->u.rw.offset);
        kd_put32(u + 0x10, f->u.rw.length);
        break;
    case DbgKdCloseFileApi: kd_put64(u + 0x00, f->u.close.handle); break;
    }
}

int kd_api_io_file_decode(const uint8_t *buf, size_t len, struct kd_file_io *f)
{
    if (len < KD_API_FILE_IO_SIZE)
        return KD_ERR_TRUNCATED;
    if (len > KD_PACKET_MAX)
        return KD_ERR_LENGTH;
    f->api = kd_le32(buf + 0x00);
    f->status = kd_le32(buf + 0x04);
    memcpy(f->raw, buf + 0x08, sizeof f->raw);
    f->data_len = len - KD_API_FILE_IO_SIZE;
    f->data = f->data_len ? buf + KD_API_FILE_IO_SIZE : NULL;
    load_file(f);
    return KD_OK;
}

int kd_api_io_file_encode(const struct kd_file_io *f, uint8_t *out, size_t cap, size_t *used)
{
    *used = 0;
    if (f->data_len > FILE_IO_DATA_MAX)
        return KD_ERR_LENGTH;
    if (f->data_len && !f->data)
        return KD_ERR_ARG;
    if (cap < KD_API_FILE_IO_SIZE + f->data_len)
        return KD_ERR_NOSPACE;
    if (f->data_len)
        memmove(out + KD_API_FILE_IO_SIZE, f->data, f->data_len);
    kd_put32(out + 0x00, f->api);
    kd_put32(out + 0x04, f->status);
    store_file(f, out + 0x08);
    *used = KD_API_FILE_IO_SIZE + f->data_len;
    return KD_OK;
}

void kd_api_io_file_reply(struct kd_file_io *reply, const struct kd_file_io *req, uint32_t status)
{
    *reply = *req;
    reply->status = status;
    reply->data = NULL;
    reply->data_len = 0;
}

int kd_api_io_create_file(struct kd_file_io *f, uint32_t desired_access, uint32_t share_access,
                          uint32_t create_disposition, uint32_t create_options,
                          const uint8_t *name16, size_t len16)
{
    if (len16 > FILE_IO_DATA_MAX)
        return KD_ERR_LENGTH;
    if (len16 && !name16)
        return KD_ERR_ARG;
    memset(f, 0, sizeof *f);
    f->api = DbgKdCreateFileApi;
    kd_put32(f->raw + 0x00, desired_access);
    kd_put32(f->raw + 0x08, share_access);
    kd_put32(f->raw + 0x0C, create_disposition);
    kd_put32(f->raw + 0x10, create_options);
    f->data = len16 ? name16 : NULL;
    f->data_len = len16;
    load_file(f);
    return KD_OK;
}
