// Picks the kernel table: the widest ISA the CPU supports, unless setIsa asked for another.
#include <cstring>
#include "cpu.h"
#include "kernels.h"

namespace glm5 {

#ifndef GLM5_HAVE_X86
const Kernels* kernelsAvx2() { return nullptr; }
const Kernels* kernelsAvx512() { return nullptr; }
#endif

static const Kernels* best() {
  if (cpu().canAvx512() && kernelsAvx512()) return kernelsAvx512();
  if (cpu().canAvx2() && kernelsAvx2()) return kernelsAvx2();
  return kernelsScalar();
}

static const Kernels* active = nullptr;

const Kernels& K() {
  if (!active) active = best();
  return *active;
}

bool setIsa(const char* name) {
  if (!std::strcmp(name, "best")) {
    active = best();
  } else if (!std::strcmp(name, "scalar")) {
    active = kernelsScalar();
  } else if (!std::strcmp(name, "avx2")) {
    if (!cpu().canAvx2() || !kernelsAvx2()) return false;
    active = kernelsAvx2();
  } else if (!std::strcmp(name, "avx512")) {
    if (!cpu().canAvx512() || !kernelsAvx512()) return false;
    active = kernelsAvx512();
  } else {
    return false;
  }
  return true;
}

}  // namespace glm5
