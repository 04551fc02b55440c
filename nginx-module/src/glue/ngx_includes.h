// nginx's C headers, with C linkage, for the module's boundary files only.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>
}

// NGX_CONF_ERROR is (void*)-1; conf handlers return char*.
inline char* ngx_conf_error_ptr() {
  return static_cast<char*>(NGX_CONF_ERROR);
}
