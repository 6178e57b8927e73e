# LibTorch, from Debian's libtorch-dev (CPU) or from an official LibTorch / pip PyTorch with
# CUDA (point Torch_DIR or CMAKE_PREFIX_PATH at it, e.g. at
# `python3 -c 'import torch; print(torch.utils.cmake_prefix_path)'`).
# TorchConfig.cmake only sets variables; we wrap them in one IMPORTED target, actatlas::torch.
# IMPORTED on purpose: CMake passes an imported target's include directories as -isystem,
# so warnings inside LibTorch's headers stay out of our build logs while ours stay on (a
# plain INTERFACE library here would make every LibTorch header warning ours). The same
# holds for the other dependencies (config packages and cmake/Find*.cmake targets).
if(NOT TARGET actatlas::torch)
  if(NOT Torch_DIR AND NOT DEFINED ENV{Torch_DIR})
    # A pip PyTorch is found without help when python3 can import it and nothing else was given.
    find_program(_actatlas_python3 python3)
    if(_actatlas_python3)
      execute_process(COMMAND ${_actatlas_python3} -c "import torch, sys; sys.stdout.write(torch.utils.cmake_prefix_path)"
                      OUTPUT_VARIABLE _actatlas_torch_prefix RESULT_VARIABLE _actatlas_torch_rc ERROR_QUIET)
      if(_actatlas_torch_rc EQUAL 0 AND _actatlas_torch_prefix)
        list(APPEND CMAKE_PREFIX_PATH "${_actatlas_torch_prefix}")
      endif()
    endif()
  endif()
  find_package(Torch REQUIRED)
  add_library(actatlas::torch INTERFACE IMPORTED)
  set_target_properties(actatlas::torch PROPERTIES
    INTERFACE_LINK_LIBRARIES "${TORCH_LIBRARIES}"
    INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INCLUDE_DIRS}")
  # torch/process_group.hpp includes c10d's ProcessGroupGloo.hpp, which includes Gloo's own
  # headers: Debian ships them apart (libgloo-dev), a pip PyTorch beside LibTorch's.
  find_path(ACTATLAS_GLOO_INCLUDE_DIR gloo/rendezvous/store.h HINTS ${TORCH_INCLUDE_DIRS})
  if(ACTATLAS_GLOO_INCLUDE_DIR)
    set_property(TARGET actatlas::torch APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${ACTATLAS_GLOO_INCLUDE_DIR}")
  else()
    message(WARNING "Gloo's headers (gloo/rendezvous/store.h) were not found: <actatlas/torch/process_group.hpp> "
                    "will not compile (on Debian: apt install libgloo-dev)")
  endif()
  # TORCH_CXX_FLAGS carries the ABI define (-D_GLIBCXX_USE_CXX11_ABI=...) a pip build needs.
  separate_arguments(_actatlas_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  if(_actatlas_torch_flags)
    set_property(TARGET actatlas::torch PROPERTY INTERFACE_COMPILE_OPTIONS ${_actatlas_torch_flags})
  endif()
endif()
