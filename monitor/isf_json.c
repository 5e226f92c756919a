/* isf_json.c: bounded recursive-descent JSON walk for ISF offsets (see isf_json.h). */
#include "isf_json.h"

#include <string.h>

#include "kd_status.h"

#define ISF_PATH 5 /* user_types . T . fields . F . offset */

struct isf_key {
    const char *s; /* raw bytes in the input; NULL when the key has escapes */
    size_t n;
};

struct isf_ctx {
    const char *p, *end;
    struct isf_json_query *q;
    size_t nq;
    struct isf_key path[ISF_PATH];
};

static void isf_ws(struct isf_ctx *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static bool isf_key_is(const struct isf_key *k, const char *s)
{
    return k->s && strlen(s) == k->n && memcmp(k->s, s, k->n) == 0;
}

static int isf_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A string at c->p ('"' already checked); key gets the raw span if escape-free. */
static int isf_string(struct isf_ctx *c, struct isf_key *key)
{
    const char *start = ++c->p;
    bool plain = true;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            if (key)
                *key = (struct isf_key){plain ? start : NULL, (size_t)(c->p - start)};
            c->p++;
            return KD_OK;
        }
        if (ch < 0x20)
            return KD_ERR_FORMAT;
        if (ch == '\\') {
            plain = false;
            if (++c->p >= c->end)
                return KD_ERR_FORMAT;
            char e = *c->p;
            if (e == 'u') {
                if (c->end - c->p < 5)
                    return KD_ERR_FORMAT;
                for (int i = 1; i <= 4; i++)
                    if (isf_hex(c->p[i]) < 0)
                        return KD_ERR_FORMAT;
                c->p += 4;
            } else if (!strchr("\"\\/bfnrt", e) || e == 0) {
                return KD_ERR_FORMAT;
            }
        }
        c->p++;
    }
    return KD_ERR_FORMAT;
}

/* A JSON number; *is_int and *v set when it is an integer that fits int64. */
static int isf_number(struct isf_ctx *c, bool *is_int, int64_t *v)
{
    const char *p = c->p;
    bool neg = false, overflow = false;
    uint64_t acc = 0;
    *is_int = true;
    if (p < c->end && *p == '-') {
        neg = true;
        p++;
    }
    if (p >= c->end || *p < '0' || *p > '9')
        return KD_ERR_FORMAT;
    if (*p == '0' && p + 1 < c->end && p[1] >= '0' && p[1] <= '9')
        return KD_ERR_FORMAT; /* no leading zeros */
    for (; p < c->end && *p >= '0' && *p <= '9'; p++) {
        if (acc > (UINT64_MAX - 9) / 10)
            overflow = true;
        else
            acc = acc * 10 + (uint64_t)(*p - '0');
    }
    if (p < c->end && *p == '.') {
        *is_int = false;
        if (++p >= c->end || *p < '0' || *p > '9')
            return KD_ERR_FORMAT;
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        *is_int = false;
        if (++p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= c->end || *p < '0' || *p > '9')
            return KD_ERR_FORMAT;
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
    }
    c->p = p;
    if (overflow || acc > (uint64_t)INT64_MAX + neg)
        *is_int = false;
    else
        *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return KD_OK;
}

/* Records v when the current path is one of the queried places. */
static void isf_match(struct isf_ctx *c, int depth, int64_t v)
{
    const struct isf_key *k = c->path;
    if (depth < 3 || !isf_key_is(&k[0], "user_types"))
        return;
    for (size_t i = 0; i < c->nq; i++) {
        struct isf_json_query *q = &c->q[i];
        if (q->found || !isf_key_is(&k[1], q->type))
            continue;
        if (!q->field && depth == 3 && isf_key_is(&k[2], "size"))
            q->value = v, q->found = true;
        else if (q->field && depth == 5 && isf_key_is(&k[2], "fields") &&
                 isf_key_is(&k[3], q->field) && isf_key_is(&k[4], "offset"))
            q->value = v, q->found = true;
    }
}

static int isf_value(struct isf_ctx *c, int depth);

static int isf_container(struct isf_ctx *c, int depth, char close)
{
    c->p++;
    isf_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return KD_OK;
    }
    for (;;) {
        isf_ws(c);
        if (close == '}') {
            struct isf_key key;
            if (c->p >= c->end || *c->p != '"')
                return KD_ERR_FORMAT;
            int rc = isf_string(c, &key);
            if (rc != KD_OK)
                return rc;
            if (depth < ISF_PATH)
                c->path[depth] = key;
            isf_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return KD_ERR_FORMAT;
            c->p++;
        } else if (depth < ISF_PATH) {
            c->path[depth] = (struct isf_key){NULL, 0}; /* array items match nothing */
        }
        int rc = isf_value(c, depth + 1);
        if (rc != KD_OK)
            return rc;
        isf_ws(c);
        if (c->p >= c->end)
            return KD_ERR_FORMAT;
        if (*c->p == close) {
            c->p++;
            return KD_OK;
        }
        if (*c->p != ',')
            return KD_ERR_FORMAT;
        c->p++;
    }
}

static int isf_literal(struct isf_ctx *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return KD_ERR_FORMAT;
    c->p += n;
    return KD_OK;
}

/* depth = number of keys on the path to this value. */
static int isf_value(struct isf_ctx *c, int depth)
{
    if (depth > ISF_JSON_MAX_DEPTH)
        return KD_ERR_LENGTH;
    isf_ws(c);
    if (c->p >= c->end)
        return KD_ERR_FORMAT;
    switch (*c->p) {
    case '{': return isf_container(c, depth, '}');
    case '[': return isf_container(c, depth, ']');
    case '"': return isf_string(c, NULL);
    case 't': return isf_literal(c, "true");
    case 'f': return isf_literal(c, "false");
    case 'n': return isf_literal(c, "null");
    default: {
        bool is_int;
        int64_t v = 0;
        int rc = isf_number(c, &is_int, &v);
        if (rc == KD_OK && is_int)
            isf_match(c, depth, v);
        return rc;
    }
    }
}

int isf_json_extract(const char *json, size_t len, struct isf_json_query *q, size_t nq)
{
    for (size_t i = 0; i < nq; i++) {
        q[i].found = false;
        q[i].value = 0;
    }
    if (!json && len)
        return KD_ERR_ARG;
    if (len > ISF_JSON_MAX_LEN)
        return KD_ERR_LENGTH;
    struct isf_ctx c = {json, json + len, q, nq, {{NULL, 0}}};
    int rc = isf_value(&c, 0);
    if (rc == KD_OK) {
        isf_ws(&c);
        if (c.p != c.end)
            rc = KD_ERR_FORMAT;
    }
    if (rc != KD_OK)
        for (size_t i = 0; i < nq; i++)
            q[i].found = false, q[i].value = 0;
    return rc;
}
