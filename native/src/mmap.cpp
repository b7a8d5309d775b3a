// mmapFile(path): maps the whole file PROT_READ/MAP_PRIVATE; the ArrayBuffer's finalizer unmaps it.
// Writing into the returned buffer faults: checkpoints are read-only by contract.
#include "mmap.h"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace glm5 {

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
  return Napi::ArrayBuffer::New(
      env, p, len, [](Napi::Env, void* data, size_t* n) { ::munmap(data, *n); delete n; }, new size_t(len));
}

}  // namespace glm5
