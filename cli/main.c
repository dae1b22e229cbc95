#include <stdio.h>
int main(void) { puts("nlcl"); return 0; }
