// The export registry: every format has one line (a name that parses back to it),
// and the file name chooses the format in one place (output::file_kind), the same
// for export, stat's CPU profile and --findings FILE.
#include "session/exports.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "output/file_kind.h"
#include "output/findings_report.h"

namespace goscope::session {
namespace {

TEST(SessionExports, EveryFormatHasOneLineAndItsNameParsesBack) {
  std::set<std::string> names;
  std::stringstream list(export_format_names());
  std::string name;
  while (std::getline(list, name, ',')) {
    if (name.starts_with(" ")) name.erase(0, 1);
    auto f = parse_export_format(name);
    ASSERT_TRUE(f) << name;
    EXPECT_EQ(export_format_name(*f), name);
    EXPECT_TRUE(names.insert(name).second) << name << " twice";
  }
  // One line per ExportFormat, kBlockProfile .. kFindingsText.
  std::set<std::string> by_format;
  for (int f = 0; f <= static_cast<int>(ExportFormat::kFindingsText); f++)
    by_format.insert(export_format_name(static_cast<ExportFormat>(f)));
  EXPECT_EQ(by_format, names);
  EXPECT_FALSE(parse_export_format("svg"));
  EXPECT_EQ(*parse_export_format("chrome"), ExportFormat::kPerfetto);
}

TEST(SessionExports, TheFileNameChoosesTheFormat) {
  EXPECT_EQ(*export_format_for_path("out/Report.HTML"), ExportFormat::kHtml);
  EXPECT_EQ(*export_format_for_path("events.jsonl"), ExportFormat::kJsonLines);
  EXPECT_EQ(*export_format_for_path("timeline.json"), ExportFormat::kPerfetto);
  EXPECT_EQ(*export_format_for_path("x.findings.json"), ExportFormat::kFindingsJson);
  EXPECT_EQ(*export_format_for_path("findings.sarif"), ExportFormat::kSarif);
  EXPECT_EQ(*export_format_for_path("cpu.folded"), ExportFormat::kFoldedCpu);
  EXPECT_EQ(*export_format_for_path("offcpu.collapsed"), ExportFormat::kFoldedOffCpu);
  EXPECT_EQ(*export_format_for_path("x.folded"), ExportFormat::kFolded);
  EXPECT_EQ(*export_format_for_path("/tmp/mutex.pb.gz"), ExportFormat::kMutexProfile);
  EXPECT_EQ(*export_format_for_path("offcpu.pprof"), ExportFormat::kOffCpuProfile);
  auto which = export_format_for_path("profile.pb.gz");
  ASSERT_FALSE(which);
  EXPECT_NE(which.error().message.find("which profile"), std::string::npos);
  EXPECT_EQ(*export_format_for_path("findings.txt"), ExportFormat::kFindingsText);
  EXPECT_FALSE(export_format_for_path("trace.gst"));

  // What the replay builds follows the formats.
  const ReplayWants w = wants_for({ExportFormat::kHtml, ExportFormat::kCpuProfile});
  EXPECT_TRUE(w.profiles && w.timeline && w.cpu);
  const ReplayWants none = wants_for({ExportFormat::kSarif});
  EXPECT_FALSE(none.profiles || none.timeline || none.cpu);
}

TEST(SessionExports, FindingsFilesAndStatUseTheSameKinds) {
  using output::FileKind;
  EXPECT_EQ(output::file_kind("a.SARIF"), FileKind::kSarif);
  EXPECT_EQ(output::file_kind("a.sarif.json"), FileKind::kSarif);
  EXPECT_EQ(output::file_kind("cpu.pb"), FileKind::kPprof);
  EXPECT_EQ(output::file_kind("cpu.txt"), FileKind::kText);
  EXPECT_EQ(output::file_kind("cpu"), FileKind::kUnknown);
  EXPECT_EQ(output::findings_format_for_path("f.sarif"), output::FindingsFormat::kSarif);
  EXPECT_EQ(output::findings_format_for_path("f.json"), output::FindingsFormat::kJson);
  EXPECT_EQ(output::findings_format_for_path("f.findings.json"), output::FindingsFormat::kJson);
  EXPECT_EQ(output::findings_format_for_path("f.log"), output::FindingsFormat::kText);
}

}  // namespace
}  // namespace goscope::session
