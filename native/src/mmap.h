// Read-only file mapping handed to JS as an external ArrayBuffer (munmap in its finalizer).
#pragma once
#include <napi.h>

namespace glm5 {
Napi::Value mmapFile(const Napi::CallbackInfo& info);
// releasePages(bytes: Uint8Array) → bytes released: see mmap.cpp.
Napi::Value releasePages(const Napi::CallbackInfo& info);
}
