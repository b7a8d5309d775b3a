// mmapFile(path): maps the whole file PROT_READ/MAP_PRIVATE; the ArrayBuffer's finalizer unmaps it.
// Writing into the returned buffer faults: checkpoints are read-only by contract.
// releasePages(view): drops a view's pages from this process (load-time quantisation reads each source tensor
// once; without this its pages would stay resident, and the peak would be the whole checkpoint).
#include "mmap.h"
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace glm5 {

// Live mappings (start → length): releasePages only ever touches these. MADV_DONTNEED on ordinary heap memory
// would zero it.
static std::mutex mapsMu;
static std::map<uintptr_t, size_t> maps;

static bool insideMapping(uintptr_t b, uintptr_t e) {
  std::lock_guard<std::mutex> g(mapsMu);
  auto it = maps.upper_bound(b);
  if (it == maps.begin()) return false;
  --it;
  return b >= it->first && e <= it->first + it->second;
}

Napi::Value mmapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "mmapFile(path: string)");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, "mmapFile: cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw Napi::Error::New(env, "mmapFile: cannot stat " + path + ": " + std::strerror(e));
  }
  const size_t len = size_t(st.st_size);
  if (len == 0) {
    ::close(fd);
    return Napi::ArrayBuffer::New(env, 0);
  }
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
  const int e = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (p == MAP_FAILED) throw Napi::Error::New(env, "mmapFile: cannot map " + path + ": " + std::strerror(e));
  {
    std::lock_guard<std::mutex> g(mapsMu);
    maps[reinterpret_cast<uintptr_t>(p)] = len;
  }
  return Napi::ArrayBuffer::New(
      env, p, len,
      [](Napi::Env, void* data, size_t* n) {
        {
          std::lock_guard<std::mutex> g(mapsMu);
          maps.erase(reinterpret_cast<uintptr_t>(data));
        }
        ::munmap(data, *n);
        delete n;
      },
      new size_t(len));
}

// The whole pages inside `bytes` (a view of a mapFile buffer) are dropped with madvise(MADV_DONTNEED): for a
// private, never-written file mapping the next read faults them in again from the file, so the view stays
// valid. Views of anything else are left alone (returns 0). Returns the bytes released.
Napi::Value releasePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "releasePages(bytes: Uint8Array)");
  auto d = info[0].As<Napi::Uint8Array>();
  const uintptr_t p = reinterpret_cast<uintptr_t>(d.Data()), page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t b = (p + page - 1) & ~(page - 1), e = (p + d.ByteLength()) & ~(page - 1);
  if (e <= b || !insideMapping(b, e)) return Napi::Number::New(env, 0);
  return Napi::Number::New(env, madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED) == 0 ? double(e - b) : 0);
}

}  // namespace glm5
