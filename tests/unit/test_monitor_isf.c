/* test_monitor_isf.c: the bounded ISF JSON reader and offsets_from_isf. */
#include "check.h"
#include "isf_json.h"
#include "kd_status.h"
#include "offsets.h"

static const char isf_19041[] =
    "{\"metadata\": {\"format\": \"6.2.0\", \"windows\": {\"pdb\": {\"GUID\": \"X\", \"age\": "
    "1}}},\n"
    " \"base_types\": {\"pointer\": {\"kind\": \"int\", \"size\": 8, \"signed\": false}},\n"
    " \"user_types\": {\n"
    "  \"_EPROCESS\": {\"kind\": \"struct\", \"size\": 2624, \"fields\": {\n"
    "    \"UniqueProcessId\": {\"offset\": 1088, \"type\": {\"kind\": \"pointer\"}},\n"
    "    \"ActiveProcessLinks\": {\"offset\": 1096, \"type\": {\"kind\": \"struct\", \"name\": "
    "\"_LIST_ENTRY\"}},\n"
    "    \"ImageFileName\": {\"offset\": 1448, \"type\": {\"kind\": \"array\", \"count\": 15}},\n"
    "    \"ThreadListHead\": {\"offset\": 1504, \"type\": {\"kind\": \"struct\"}}}},\n"
    "  \"_ETHREAD\": {\"kind\": \"struct\", \"size\": 2200, \"fields\": {\n"
    "    \"StartAddress\": {\"offset\": 1104, \"type\": {}},\n"
    "    \"Cid\": {\"offset\": 1144, \"type\": {\"kind\": \"struct\", \"name\": \"_CLIENT_ID\"}},\n"
    "    \"Win32StartAddress\": {\"offset\": 1232, \"type\": {}},\n"
    "    \"ThreadListEntry\": {\"offset\": 1256, \"type\": {}}}},\n"
    "  \"_CLIENT_ID\": {\"kind\": \"struct\", \"size\": 16, \"fields\": {\n"
    "    \"UniqueProcess\": {\"offset\": 0}, \"UniqueThread\": {\"offset\": 8}}},\n"
    "  \"_KAPC_STATE\": {\"kind\": \"struct\", \"size\": 48, \"fields\": {\"Process\": "
    "{\"offset\": 32}}},\n"
    "  \"_KTHREAD\": {\"kind\": \"struct\", \"size\": 1072, \"fields\": {\n"
    "    \"InitialStack\": {\"offset\": 40}, \"StackLimit\": {\"offset\": 48},\n"
    "    \"StackBase\": {\"offset\": 56}, \"KernelStack\": {\"offset\": 88},\n"
    "    \"ApcState\": {\"offset\": 152}, \"State\": {\"offset\": 388}, \"Process\": {\"offset\": "
    "544}}}\n"
    " },\n"
    " \"enums\": {}, \"symbols\": {\"PsActiveProcessHead\": {\"address\": 13958768}}\n"
    "}\n";

static void test_valid(void)
{
    struct isf_json_query q[] = {{"_EPROCESS", "ActiveProcessLinks", 0, false},
                                 {"_EPROCESS", NULL, 0, false},
                                 {"_ETHREAD", "ThreadListEntry", 0, false},
                                 {"_KTHREAD", "State", 0, false},
                                 {"_ETHREAD", "Nope", 0, false},
                                 {"_NOPE", NULL, 0, false},
                                 {"metadata", NULL, 0, false}};
    CHECK_EQ(isf_json_extract(isf_19041, strlen(isf_19041), q, 7), KD_OK);
    CHECK(q[0].found);
    CHECK_EQ(q[0].value, 0x448);
    CHECK(q[1].found);
    CHECK_EQ(q[1].value, 0xA40);
    CHECK_EQ(q[2].value, 0x4E8);
    CHECK_EQ(q[3].value, 0x184);
    CHECK(!q[4].found);
    CHECK(!q[5].found);
    CHECK(!q[6].found); /* "size" only counts under user_types */

    struct offsets o;
    offsets_init(&o, 19041);
    CHECK_EQ(offsets_from_isf(&o, isf_19041, strlen(isf_19041)), KD_OK);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_UNIQUE_PROCESS_ID], 0x440);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], 0x448);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_IMAGE_FILE_NAME], 0x5A8);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_THREAD_LIST_HEAD], 0x5E0);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_THREAD_LIST_ENTRY], 0x4E8);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_CID], 0x478);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_START_ADDRESS], 0x450);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_WIN32_START_ADDRESS], 0x4D0);
    CHECK_EQ(o.value[OFFSETS_KTHREAD_APC_PROCESS], 0xB8); /* ApcState + KAPC_STATE.Process */
    CHECK_EQ(o.value[OFFSETS_KTHREAD_KERNEL_STACK], 0x58);
    CHECK_EQ(o.source[OFFSETS_ETHREAD_CID], OFFSETS_SRC_ISF);
    CHECK_EQ(o.size_eprocess, 0xA40);
    CHECK_EQ(o.size_ethread, 0x898);
    CHECK(!offsets_has(&o, OFFSETS_KPRCB_CURRENT_THREAD)); /* not in this file */
}

static void test_missing_fields(void)
{
    const char *doc = "{\"user_types\": {\"_EPROCESS\": {\"fields\": {"
                      "\"ActiveProcessLinks\": {\"offset\": 1096}, "
                      "\"ImageFileName\": {\"offset\": 14.5}, "
                      "\"ThreadListHead\": {\"offset\": \"1504\"}, "
                      "\"UniqueProcessId\": {\"type\": {\"offset\": 7}}}}}}";
    struct offsets o;
    offsets_init(&o, 0);
    CHECK_EQ(offsets_from_isf(&o, doc, strlen(doc)), KD_OK);
    CHECK_EQ(o.value[OFFSETS_EPROCESS_ACTIVE_PROCESS_LINKS], 0x448);
    CHECK(!offsets_has(&o, OFFSETS_EPROCESS_IMAGE_FILE_NAME));   /* not an integer */
    CHECK(!offsets_has(&o, OFFSETS_EPROCESS_THREAD_LIST_HEAD));  /* a string */
    CHECK(!offsets_has(&o, OFFSETS_EPROCESS_UNIQUE_PROCESS_ID)); /* wrong depth */
    CHECK(!offsets_has(&o, OFFSETS_KTHREAD_APC_PROCESS));
    /* First occurrence wins; negative and huge offsets are refused. */
    const char *dup = "{\"user_types\": {\"_ETHREAD\": {\"fields\": {"
                      "\"Cid\": {\"offset\": 1144}, \"Cid\": {\"offset\": 8}, "
                      "\"ThreadListEntry\": {\"offset\": -8}, "
                      "\"StartAddress\": {\"offset\": 99999999999999999999}}}, "
                      "\"_CLIENT_ID\": {\"fields\": {\"UniqueThread\": {\"offset\": 8}}}}}";
    offsets_init(&o, 0);
    CHECK_EQ(offsets_from_isf(&o, dup, strlen(dup)), KD_OK);
    CHECK_EQ(o.value[OFFSETS_ETHREAD_CID], 0x478);
    CHECK(!offsets_has(&o, OFFSETS_ETHREAD_THREAD_LIST_ENTRY));
    CHECK(!offsets_has(&o, OFFSETS_ETHREAD_START_ADDRESS));
    /* A CLIENT_ID whose UniqueThread is not at +8 makes Cid unusable. */
    const char *odd = "{\"user_types\": {\"_ETHREAD\": {\"fields\": {\"Cid\": {\"offset\": 1144}}},"
                      " \"_CLIENT_ID\": {\"fields\": {\"UniqueThread\": {\"offset\": 4}}}}}";
    offsets_init(&o, 0);
    CHECK_EQ(offsets_from_isf(&o, odd, strlen(odd)), KD_OK);
    CHECK(!offsets_has(&o, OFFSETS_ETHREAD_CID));
}

static void test_garbage(void)
{
    static const char *bad[] = {
        "",
        "{",
        "{\"user_types\": {\"_EPROCESS\": {\"fields\": {\"ActiveProcessLinks\": {\"offset\": "
        "1096}}}}",
        "{\"a\": 01}",
        "{\"a\": 1.}",
        "{\"a\": -}",
        "{\"a\": 1e}",
        "{\"a\": tru}",
        "{\"a\": \"\\x\"}",
        "{\"a\": \"\\u12G4\"}",
        "{\"a\": \"tab\there\"}",
        "{\"a\" 1}",
        "{\"a\": 1,}",
        "[1 2]",
        "{\"a\": 1} x",
        "{'a': 1}",
        "{\"user_types\": {\"_EPROCESS\": {\"fields\": {\"ActiveProcessLinks\": {\"offset\": "
        "1096}}}}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct isf_json_query q = {"_EPROCESS", "ActiveProcessLinks", 0, false};
        int rc = isf_json_extract(bad[i], strlen(bad[i]), &q, 1);
        if (rc != KD_ERR_FORMAT)
            fprintf(stderr, "  case %zu: %d\n", i, rc);
        CHECK_EQ(rc, KD_ERR_FORMAT);
        CHECK(!q.found);
    }
    /* Nesting past the cap. */
    char deep[2 * ISF_JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < ISF_JSON_MAX_DEPTH + 2; i++)
        deep[n++] = '[';
    for (int i = 0; i < ISF_JSON_MAX_DEPTH + 2; i++)
        deep[n++] = ']';
    CHECK_EQ(isf_json_extract(deep, n, NULL, 0), KD_ERR_LENGTH);
    CHECK_EQ(isf_json_extract(deep + 4, n - 8, NULL, 0), KD_OK);
    /* An embedded NUL is not whitespace. */
    CHECK_EQ(isf_json_extract("{}\0", 3, NULL, 0), KD_ERR_FORMAT);
    /* Escaped keys are valid JSON but never match. */
    const char *esc = "{\"user_types\": {\"_EPROC\\u0045SS\": {\"fields\": "
                      "{\"ActiveProcessLinks\": {\"offset\": 1096}}}}}";
    struct isf_json_query q = {"_EPROCESS", "ActiveProcessLinks", 0, false};
    CHECK_EQ(isf_json_extract(esc, strlen(esc), &q, 1), KD_OK);
    CHECK(!q.found);
    struct offsets o;
    offsets_init(&o, 0);
    CHECK_EQ(offsets_from_isf(&o, "nonsense", 8), KD_ERR_FORMAT);
    for (int f = 0; f < OFFSETS_NFIELDS; f++)
        CHECK(!offsets_has(&o, (enum offsets_field)f));
}

static void test_values(void)
{
    const char *doc = "{\"user_types\": {\"T\": {\"size\": -9223372036854775808, \"fields\": "
                      "{\"a\": {\"offset\": 9223372036854775807}, \"b\": {\"offset\": 0}, "
                      "\"c\": {\"offset\": 9223372036854775808}, \"d\": {\"offset\": 2E1}}}}}";
    struct isf_json_query q[] = {{"T", NULL, 0, false},
                                 {"T", "a", 0, false},
                                 {"T", "b", 0, false},
                                 {"T", "c", 0, false},
                                 {"T", "d", 0, false}};
    CHECK_EQ(isf_json_extract(doc, strlen(doc), q, 5), KD_OK);
    CHECK(q[0].found && q[0].value == INT64_MIN);
    CHECK(q[1].found && q[1].value == INT64_MAX);
    CHECK(q[2].found && q[2].value == 0);
    CHECK(!q[3].found);
    CHECK(!q[4].found);
}

int main(void)
{
    RUN(test_valid);
    RUN(test_missing_fields);
    RUN(test_garbage);
    RUN(test_values);
    return check_summary("test_monitor_isf");
}
