// CPU features, detected once (cpuid + xgetbv) on first use.
#pragma once
#include <string>
#include <vector>

namespace glm5 {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false, avx512bf16 = false;
  bool canAvx2() const { return avx2 && fma && f16c; }
  bool canAvx512() const { return canAvx2() && avx512f && avx512bw && avx512vl && avx512dq; }
  std::vector<std::string> names() const;
};

const CpuFeatures& cpu();

}  // namespace glm5
