# bpf_object(NAME SOURCE)
#
# Compiles SOURCE (BPF C) with clang -target bpf and turns the object into a
# libbpf skeleton header "NAME.skel.h" with bpftool. Exposes an INTERFACE
# target NAME_skel that puts the skeleton on the include path and links libbpf.
# The build also prints the instruction count of every BPF program: it is
# watched like a performance number (the verifier's budget is finite).

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
find_program(LLVM_OBJDUMP NAMES llvm-objdump llvm-objdump-16 llvm-objdump-15 llvm-objdump-14)

execute_process(COMMAND uname -m OUTPUT_VARIABLE _bpf_uname_m OUTPUT_STRIP_TRAILING_WHITESPACE)
if(_bpf_uname_m STREQUAL "x86_64")
  set(BPF_TARGET_ARCH x86)
  set(BPF_MULTIARCH_INCLUDE /usr/include/x86_64-linux-gnu)
else()
  message(FATAL_ERROR "goscope traces the Go amd64 register ABI; ${_bpf_uname_m} is not supported yet")
endif()

function(bpf_object name source)
  set(_src ${CMAKE_CURRENT_SOURCE_DIR}/${source})
  set(_obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(_skel ${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h)
  file(GLOB _headers ${CMAKE_CURRENT_SOURCE_DIR}/*.h)

  add_custom_command(
    OUTPUT ${_obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Werror -mcpu=v3
            -I${CMAKE_CURRENT_SOURCE_DIR} -I${BPF_MULTIARCH_INCLUDE}
            -c ${_src} -o ${_obj}
    DEPENDS ${_src} ${_headers}
    COMMENT "BPF: compiling ${source}"
    VERBATIM)

  set(_count_cmd)
  if(LLVM_OBJDUMP)
    set(_count_cmd COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${LLVM_OBJDUMP} -DOBJ=${_obj}
                   -P ${PROJECT_SOURCE_DIR}/cmake/BpfInsnCount.cmake)
  endif()

  add_custom_command(
    OUTPUT ${_skel}
    COMMAND ${BPFTOOL} gen skeleton ${_obj} name ${name} > ${_skel}
    ${_count_cmd}
    DEPENDS ${_obj}
    COMMENT "BPF: generating skeleton ${name}.skel.h"
    VERBATIM)

  add_custom_target(${name}_skel_gen DEPENDS ${_skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR} ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF PkgConfig::LIBELF ZLIB::ZLIB)
endfunction()
