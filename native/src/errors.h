// Errors cross the C ABI as a status code plus a thread-local message (relabel_last_error()).
#pragma once

#include <cstdint>

namespace relabel {

// Records a printf-style message for relabel_last_error() on this thread and returns status.
int32_t fail(int32_t status, const char *format, ...) __attribute__((format(printf, 2, 3)));

// Clears the message at the start of an API call.
void clear_error();

}  // namespace relabel
