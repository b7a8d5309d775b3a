// cpuid / xgetbv feature detection. Only x86-64 has SIMD paths; elsewhere every flag stays false.
#include "cpu.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace glm5 {

static CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  const bool fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave || !avx) return f;
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool ymmOs = (xlo & 0x6) == 0x6;        // SSE + AVX state enabled by the OS
  const bool zmmOs = ymmOs && (xlo & 0xe0) == 0xe0;  // opmask + ZMM state
  if (!ymmOs) return f;
  f.fma = fma;
  f.f16c = f16c;
  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  if (maxLeaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = b & (1u << 5);
    if (zmmOs) {
      f.avx512f = b & (1u << 16);
      f.avx512dq = b & (1u << 17);
      f.avx512bw = b & (1u << 30);
      f.avx512vl = b & (1u << 31);
      f.avx512vnni = c & (1u << 11);
      __cpuid_count(7, 1, a, b, c, d);
      f.avx512bf16 = a & (1u << 5);
    }
  }
#endif
  return f;
}

const CpuFeatures& cpu() {
  static const CpuFeatures f = detect();
  return f;
}

std::vector<std::string> CpuFeatures::names() const {
  std::vector<std::string> n;
  if (avx2) n.push_back("avx2");
  if (fma) n.push_back("fma");
  if (f16c) n.push_back("f16c");
  if (avx512f) n.push_back("avx512f");
  if (avx512bw) n.push_back("avx512bw");
  if (avx512vl) n.push_back("avx512vl");
  if (avx512dq) n.push_back("avx512dq");
  if (avx512vnni) n.push_back("avx512vnni");
  if (avx512bf16) n.push_back("avx512bf16");
  return n;
}

}  // namespace glm5
