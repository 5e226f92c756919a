/* test_kdnet_key.c: KDNET key text and key derivation (fact sheet §2.1, §2.3).
 * Expected bytes are worked out by hand in the comments; the derivation from
 * real captures is in test_kdnet.c, which has the datagrams. */
#include "check.h"
#include "kd_status.h"
#include "kdnet.h"

static const uint8_t zero32[32];
static const uint8_t zero_body[KDNET_RESPONSE_BODY];

/* Parses text expecting failure at part with reason why; the key must come back zeroed. */
static void expect_bad(const char *text, int part, const char *why)
{
    uint8_t key[32];
    memset(key, 0xaa, sizeof key);
    int got_part = -1;
    const char *got_why = NULL;
    CHECK_EQ(kdnet_key_parse(text, key, &got_part, &got_why), KD_ERR_KEY);
    CHECK_EQ(got_part, part);
    CHECK_STR(got_why, why);
    CHECK_BYTES(key, zero32, 32);
    if (check_failed_now)
        fprintf(stderr, "    key text: \"%s\"\n", text);
}

static void test_single_digits(void)
{
    static const uint8_t want[32] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
                                     3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0};
    uint8_t key[32];
    int part = -1;
    const char *why = "unset";
    CHECK_EQ(kdnet_key_parse("1.2.3.4", key, &part, &why), KD_OK);
    CHECK_BYTES(key, want, 32);
    CHECK_EQ(part, 0);
    CHECK(why == NULL);
    /* The output pointers are optional. */
    CHECK_EQ(kdnet_key_parse("1.2.3.4", key, NULL, NULL), KD_OK);
    CHECK_BYTES(key, want, 32);
}

/* abc = 10*36^2 + 11*36 + 12 = 12960 + 396 + 12 = 13368 = 0x3438 -> 38 34 00..
 * 1z  = 1*36 + 35 = 71 = 0x47
 * zzzzzzzzzzzz (12 z) = 36^12 - 1; 36^12 = 2^24 * 3^24 = 0x41c21cb8e1000000,
 * so the value is 0x41c21cb8e0ffffff -> ff ff ff e0 b8 1c c2 41. */
static const uint8_t multi_want[32] = {0x38, 0x34, 0,    0,    0,    0,    0,    0,    0x47, 0,   0,
                                       0,    0,    0,    0,    0,    0,    0,    0,    0,    0,   0,
                                       0,    0,    0xff, 0xff, 0xff, 0xe0, 0xb8, 0x1c, 0xc2, 0x41};

static void test_multi_character_parts(void)
{
    uint8_t key[32];
    CHECK_EQ(kdnet_key_parse("abc.1z.0.zzzzzzzzzzzz", key, NULL, NULL), KD_OK);
    CHECK_BYTES(key, multi_want, 32);
}

static void test_uppercase_accepted(void)
{
    uint8_t key[32];
    CHECK_EQ(kdnet_key_parse("ABC.1Z.0.ZZZZZZZZZZZZ", key, NULL, NULL), KD_OK);
    CHECK_BYTES(key, multi_want, 32);
    CHECK_EQ(kdnet_key_parse("aBc.1Z.0.zZzZzZzZzZzZ", key, NULL, NULL), KD_OK);
    CHECK_BYTES(key, multi_want, 32);
}

/* 2^64 - 1 = 18446744073709551615 is "3w5e11264sgsf" in base 36 (13 digits):
 * 3*36^12 = 14215144014964850688, and the rest adds up to 4231600058744700927. */
static void test_maximum_and_overflow(void)
{
    uint8_t key[32];
    uint8_t want[32] = {0};
    memset(want, 0xff, 8);
    memset(want + 24, 0xff, 8);
    CHECK_EQ(kdnet_key_parse("3w5e11264sgsf.0.0.3W5E11264SGSF", key, NULL, NULL), KD_OK);
    CHECK_BYTES(key, want, 32);
    /* Leading zeros count against the 13 characters but not the value. */
    CHECK_EQ(kdnet_key_parse("0000000000001.0.0.0", key, NULL, NULL), KD_OK);
    CHECK_EQ(key[0], 1);
    /* One more than 2^64 - 1, and the largest 13-digit text. */
    expect_bad("3w5e11264sgsg.0.0.0", 1, "too large");
    expect_bad("0.0.0.zzzzzzzzzzzzz", 4, "too large");
    expect_bad("0.4000000000000.0.0", 2, "too large");
}

static void test_too_long(void)
{
    expect_bad("0.0.0.00000000000001", 4, "too long"); /* 14 chars, small value */
    expect_bad("1.2.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.4", 3, "too long");
}

static void test_empty_part(void)
{
    expect_bad("1..2.3", 2, "empty");
    expect_bad(".1.2.3", 1, "empty");
    expect_bad("1.2.3.", 4, "empty");
    expect_bad("...", 1, "empty");
}

static void test_bad_character(void)
{
    expect_bad("1.2.3.4!", 4, "bad character");
    expect_bad("1.2.3.-4", 4, "bad character");
    expect_bad("1.2 .3.4", 2, "bad character");
    expect_bad("+1.2.3.4", 1, "bad character");
    expect_bad("1.2.3.4\n", 4, "bad character");
    /* A bad character wins over the length, so the message names the real fault. */
    expect_bad("1.2.3.00000000000000_", 4, "bad character");
}

static void test_wrong_number_of_parts(void)
{
    expect_bad("1.2.3", 0, "wrong number of parts");
    expect_bad("1.2.3.4.5", 0, "wrong number of parts");
    expect_bad("", 0, "wrong number of parts");
    expect_bad("1234", 0, "wrong number of parts");
}

static void test_null_arguments(void)
{
    uint8_t key[32];
    int part = 7;
    CHECK_EQ(kdnet_key_parse(NULL, key, &part, NULL), KD_ERR_ARG);
    CHECK_EQ(kdnet_key_parse("1.2.3.4", NULL, NULL, NULL), KD_ERR_ARG);
    CHECK_EQ(part, 0);
    struct kdnet_keys k;
    CHECK_EQ(kdnet_keys_data(NULL, zero_body, &k), KD_ERR_ARG);
    CHECK_EQ(kdnet_keys_data(zero32, NULL, &k), KD_ERR_ARG);
    CHECK_EQ(kdnet_keys_data(zero32, zero_body, NULL), KD_ERR_ARG);
}

/* The HMAC key is the bitwise NOT of the control key (§2.3). */
static void test_control_keys(void)
{
    uint8_t key[32];
    CHECK_EQ(kdnet_key_parse("8.8.8.8", key, NULL, NULL), KD_OK);
    struct kdnet_keys k;
    kdnet_keys_control(key, &k);
    uint8_t want_hmac[32];
    memset(want_hmac, 0xff, sizeof want_hmac);
    for (int i = 0; i < 4; i++)
        want_hmac[8 * i] = 0xf7;
    CHECK_BYTES(k.enc, key, 32);
    CHECK_BYTES(k.hmac, want_hmac, 32);

    CHECK_EQ(kdnet_key_parse("abc.1z.0.zzzzzzzzzzzz", key, NULL, NULL), KD_OK);
    kdnet_keys_control(key, &k);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(k.hmac[i], (uint8_t)~multi_want[i]);
}

/* Data key = SHA-256(control key || 322-byte response body); the HMAC key
 * stays ~control key. Expected digest computed independently (Python
 * hashlib) for key 1.2.3.4 and a body 01 02, then (i*7+3) & 0xff for
 * i = 0..63, then 256 zeros. */
static void test_data_keys(void)
{
    static const uint8_t want[32] = {0xc5, 0x05, 0xdc, 0x43, 0xe0, 0xf8, 0xc2, 0x21,
                                     0xbe, 0xed, 0xd5, 0xef, 0x76, 0xf1, 0xf9, 0x40,
                                     0x55, 0x2a, 0xd3, 0xf6, 0x23, 0xbb, 0x5f, 0x64,
                                     0x82, 0xf9, 0xff, 0x7e, 0xab, 0x87, 0x9b, 0xf2};
    uint8_t key[32], body[KDNET_RESPONSE_BODY] = {1, 2};
    for (int i = 0; i < 64; i++)
        body[2 + i] = (uint8_t)(i * 7 + 3);
    CHECK_EQ(kdnet_key_parse("1.2.3.4", key, NULL, NULL), KD_OK);
    struct kdnet_keys ctl, data;
    kdnet_keys_control(key, &ctl);
    memset(&data, 0x55, sizeof data);
    CHECK_EQ(kdnet_keys_data(key, body, &data), KD_OK);
    CHECK_BYTES(data.enc, want, 32);
    CHECK_BYTES(data.hmac, ctl.hmac, 32);
    /* Every body byte matters, the last one included. */
    body[KDNET_RESPONSE_BODY - 1] ^= 1;
    struct kdnet_keys other;
    CHECK_EQ(kdnet_keys_data(key, body, &other), KD_OK);
    CHECK(memcmp(other.enc, data.enc, 32) != 0);
}

int main(void)
{
    RUN(test_single_digits);
    RUN(test_multi_character_parts);
    RUN(test_uppercase_accepted);
    RUN(test_maximum_and_overflow);
    RUN(test_too_long);
    RUN(test_empty_part);
    RUN(test_bad_character);
    RUN(test_wrong_number_of_parts);
    RUN(test_null_arguments);
    RUN(test_control_keys);
    RUN(test_data_keys);
    return check_summary("test_kdnet_key");
}
