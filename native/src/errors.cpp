#include "errors.h"

#include <cstdarg>
#include <cstdio>

#include "relabel/relabel.h"

namespace relabel {

namespace {
thread_local char last_error[1024] = "";
}

int32_t fail(int32_t status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  return status;
}

void clear_error() { last_error[0] = '\0'; }

}  // namespace relabel

extern "C" const char *relabel_last_error(void) { return relabel::last_error; }
