/* The table nginx looks up with dlsym() when it loads the module
 * (the file nginx's own build generates as objs/ngx_modules.c). */
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_hubstats_module;

ngx_module_t* ngx_modules[] = {&ngx_http_hubstats_module, NULL};

char* ngx_module_names[] = {"ngx_http_hubstats_module", NULL};

char* ngx_module_order[] = {NULL};
