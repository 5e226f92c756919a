/* replay_main.c: plain driver for the fuzz harnesses, so `make check` replays
 * every corpus file (and every past crash) under the sanitizers without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            files += replay_file(argv[i]) == 0;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
            files += replay_file(p) == 0;
        }
        if (d)
            closedir(d);
    }
    /* Also run a few synthetic inputs: empty, one byte, all-0xff. */
    uint8_t junk[4096];
    memset(junk, 0xff, sizeof junk);
    LLVMFuzzerTestOneInput(junk, 0);
    LLVMFuzzerTestOneInput(junk, 1);
    LLVMFuzzerTestOneInput(junk, sizeof junk);
    printf("%d corpus files replayed\n", files);
    return files > 0 ? 0 : 1;
}
