// An ELF executable opened with libelf: its symbols and the mapping from ELF
// virtual addresses to file offsets (what uprobes are attached by).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.h"

struct Elf;

namespace goscope::sym {

struct ElfSymbol {
  std::string name;
  uint64_t vaddr = 0;  // ELF virtual address (not a process address)
  uint64_t size = 0;
};

struct ElfSegment {
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;  // file offset
  uint64_t filesz = 0;
  uint32_t flags = 0;  // PF_R / PF_W / PF_X
};

class ElfFile {
 public:
  static Expected<ElfFile> open(const std::string& path);

  ElfFile(ElfFile&&) noexcept;
  ElfFile& operator=(ElfFile&&) noexcept;
  ~ElfFile();

  const std::string& path() const { return path_; }
  bool is_pie() const { return is_pie_; }  // ET_DYN: loaded at a bias
  bool has_symtab() const { return has_symtab_; }
  bool has_section(std::string_view name) const;
  const std::vector<ElfSegment>& load_segments() const { return segments_; }

  // Function symbol by exact name, from .symtab (Go binaries have no useful .dynsym).
  std::optional<ElfSymbol> find_function(std::string_view name) const;

  // File offset of an ELF virtual address inside a loadable segment.
  Expected<uint64_t> vaddr_to_file_offset(uint64_t vaddr) const;

  // Bytes of the file at an ELF virtual address range (must lie in one segment).
  Expected<std::vector<uint8_t>> read_vaddr(uint64_t vaddr, uint64_t size) const;

  // The underlying libelf handle, for modules that read sections themselves.
  Elf* elf() const { return elf_; }
  int fd() const { return fd_; }

 private:
  ElfFile() = default;
  void close();

  std::string path_;
  int fd_ = -1;
  Elf* elf_ = nullptr;
  bool is_pie_ = false;
  bool has_symtab_ = false;
  std::vector<ElfSegment> segments_;
};

}  // namespace goscope::sym
