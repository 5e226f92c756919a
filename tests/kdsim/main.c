/* main.c: kdsim (placeholder until the wire server lands). */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "kdsim: not yet\n");
    return 2;
}
