// The BPF object and the C++ side must agree on every shared layout. Both
// compile bpf/goscope.h with static asserts; this test also reads the BTF
// clang emitted for the BPF object and compares sizes and field offsets with
// what the C++ compiler made of the same header. Needs no privileges.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include <cstddef>
#include <memory>
#include <map>
#include <string>

#include "goscope.h"
#include "loader/bpf_session.h"

#ifndef GOSCOPE_BPF_OBJECT
#error "GOSCOPE_BPF_OBJECT must point at the compiled BPF object"
#endif

namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

class BpfAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    btf_.reset(btf__parse_elf(GOSCOPE_BPF_OBJECT, nullptr));
    ASSERT_TRUE(btf_) << "cannot read BTF of " << GOSCOPE_BPF_OBJECT;
  }

  const btf_type* find_struct(const char* name, int* id_out = nullptr) {
    int id = btf__find_by_name_kind(btf_.get(), name, BTF_KIND_STRUCT);
    if (id_out) *id_out = id;
    return id > 0 ? btf__type_by_id(btf_.get(), id) : nullptr;
  }

  long member_offset_bytes(const char* struct_name, const char* member) {
    const btf_type* t = find_struct(struct_name);
    if (!t) return -1;
    const btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); i++, m++) {
      if (std::string(btf__name_by_offset(btf_.get(), m->name_off)) == member)
        return static_cast<long>(btf_member_bit_offset(t, i) / 8);
    }
    return -1;
  }

  std::unique_ptr<btf, BtfDeleter> btf_;
};

TEST_F(BpfAbi, StructSizesMatch) {
  const btf_type* t;
  ASSERT_TRUE(t = find_struct("gs_event_header"));
  EXPECT_EQ(t->size, sizeof(gs_event_header));
  ASSERT_TRUE(t = find_struct("gs_probe_hit"));
  EXPECT_EQ(t->size, sizeof(gs_probe_hit));
  ASSERT_TRUE(t = find_struct("gs_go_offsets"));
  EXPECT_EQ(t->size, sizeof(gs_go_offsets));
  ASSERT_TRUE(t = find_struct("gs_cpu_sample"));
  EXPECT_EQ(t->size, sizeof(gs_cpu_sample));
  ASSERT_TRUE(t = find_struct("gs_thread_event"));
  EXPECT_EQ(t->size, sizeof(gs_thread_event));
  ASSERT_TRUE(t = find_struct("gs_pmu_goroutine"));
  EXPECT_EQ(t->size, sizeof(gs_pmu_goroutine));
  ASSERT_TRUE(t = find_struct("gs_pmu_config"));
  EXPECT_EQ(t->size, sizeof(gs_pmu_config));
}

TEST_F(BpfAbi, FieldOffsetsMatch) {
  EXPECT_EQ(member_offset_bytes("gs_event_header", "ktime_ns"), long(offsetof(gs_event_header, ktime_ns)));
  EXPECT_EQ(member_offset_bytes("gs_event_header", "goid"), long(offsetof(gs_event_header, goid)));
  EXPECT_EQ(member_offset_bytes("gs_probe_hit", "cookie"), long(offsetof(gs_probe_hit, cookie)));
  EXPECT_EQ(member_offset_bytes("gs_probe_hit", "ret_addr"), long(offsetof(gs_probe_hit, ret_addr)));
  EXPECT_EQ(member_offset_bytes("gs_probe_hit", "regs"), long(offsetof(gs_probe_hit, regs)));
  EXPECT_EQ(member_offset_bytes("gs_go_offsets", "g_goid"), long(offsetof(gs_go_offsets, g_goid)));
  EXPECT_EQ(member_offset_bytes("gs_cpu_sample", "frames"), long(offsetof(gs_cpu_sample, frames)));
  EXPECT_EQ(member_offset_bytes("gs_cpu_sample", "period"), long(offsetof(gs_cpu_sample, period)));
  EXPECT_EQ(member_offset_bytes("gs_pmu_goroutine", "running"), long(offsetof(gs_pmu_goroutine, running)));
  EXPECT_EQ(member_offset_bytes("gs_pmu_config", "tls_g_offset"), long(offsetof(gs_pmu_config, tls_g_offset)));
}

TEST(BpfObject, OpensWithExpectedProgramsAndMaps) {
  bpf_object* obj = bpf_object__open_file(GOSCOPE_BPF_OBJECT, nullptr);
  ASSERT_TRUE(obj) << "libbpf cannot open " << GOSCOPE_BPF_OBJECT;
  EXPECT_TRUE(bpf_object__find_program_by_name(obj, "gs_probe_hit"));
  bpf_map* events = bpf_object__find_map_by_name(obj, "events");
  ASSERT_TRUE(events);
  EXPECT_EQ(bpf_map__type(events), BPF_MAP_TYPE_RINGBUF);
  bpf_map* counters = bpf_object__find_map_by_name(obj, "counters");
  ASSERT_TRUE(counters);
  EXPECT_EQ(bpf_map__max_entries(counters), unsigned(GS_CNT__COUNT));
  // Every program on the target's code is a plain uprobe: goscope never uses uretprobes
  // on Go code. The others: CPU sampling on perf events, thread creation in the kernel.
  const std::map<std::string, std::string> not_uprobes = {{"gs_cpu_sample", "perf_event"},
                                                          {"gs_thread_fork", "tp_btf/sched_process_fork"}};
  bpf_program* prog;
  size_t others = 0;
  bpf_object__for_each_program(prog, obj) {
    const std::string name = bpf_program__name(prog);
    auto it = not_uprobes.find(name);
    const std::string expected = it == not_uprobes.end() ? "uprobe" : it->second;
    others += it != not_uprobes.end();
    EXPECT_EQ(std::string(bpf_program__section_name(prog)), expected) << name;
  }
  EXPECT_EQ(others, not_uprobes.size());
  EXPECT_TRUE(bpf_object__find_program_by_name(obj, "gs_sched"));
  bpf_map* pmu = bpf_object__find_map_by_name(obj, "pmu_counters");
  ASSERT_TRUE(pmu);
  EXPECT_EQ(bpf_map__type(pmu), BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  bpf_object__close(obj);
}

// A CO-RE relocation anywhere in the object makes libbpf parse the kernel's whole BTF
// on every load (~200 ms on a small VM), for `trace` too. The object has none: the one
// kernel structure read (task_struct) goes by offsets user space looks up when needed.
TEST(BpfObject, HasNoCoreRelocations) {
  ASSERT_NE(elf_version(EV_CURRENT), EV_NONE);
  const int fd = open(GOSCOPE_BPF_OBJECT, O_RDONLY);
  ASSERT_GE(fd, 0);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  ASSERT_TRUE(elf);
  size_t shstrndx = 0;
  ASSERT_EQ(elf_getshdrstrndx(elf, &shstrndx), 0);
  bool found = false;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (!name || std::strcmp(name, ".BTF.ext") != 0) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    ASSERT_TRUE(d && d->d_size >= 8);
    // struct btf_ext_header: magic u16, version u8, flags u8, hdr_len u32, then
    // func_info off/len, line_info off/len, core_relo off/len (when hdr_len >= 32).
    uint32_t words[8] = {};
    std::memcpy(words, d->d_buf, std::min<size_t>(sizeof words, d->d_size));
    const uint32_t hdr_len = words[1];
    if (hdr_len >= 32) {
      EXPECT_EQ(words[7], 0u) << "bytes of CO-RE relocation records";
    }
    found = true;
  }
  EXPECT_TRUE(found) << "no .BTF.ext in " << GOSCOPE_BPF_OBJECT;
  elf_end(elf);
  close(fd);
}

// What CPU samples and thread records read instead: offsets from the running kernel's BTF.
TEST(KernelBtf, TaskStructOffsets) {
  const goscope::loader::KernelTaskOffsets k = goscope::loader::kernel_task_offsets();
  EXPECT_GT(k.pid, 0u);
  EXPECT_GT(k.tgid, 0u);
  EXPECT_NE(k.tgid, k.pid);
  EXPECT_EQ(k.pid % 4, 0u);
  EXPECT_EQ(k.tgid % 4, 0u);
  EXPECT_GT(k.fsbase, 0u);
  EXPECT_EQ(k.fsbase % 8, 0u);
  EXPECT_NE(k.fsbase, k.pid);
}

}  // namespace
