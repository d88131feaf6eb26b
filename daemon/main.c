/* xecid: the daemon. */
#include "log.h"
int main(void)
{
	xeci_log_init_from_env();
	return 0;
}
