// A completed job's results on the storage endpoint (decisions, without sockets): a GET of
// /download/<job id>/<index> serves result_bytes of the configured size, deterministic per job
// and name and the same whatever the offset it is read from; unknown or unfinished jobs get
// 404; storage faults apply; "hostile-names-" templates offer names no client may use as paths.
#include <vector>

#include "emulator_fixture.hpp"
#include "result_bytes.hpp"

namespace emulator::testing {
namespace {

using namespace std::chrono_literals;

class Results : public EmulatorFixture {
 protected:
  // The index-th result link's path (after the storage origin).
  std::string result_target(const std::string& id, std::size_t index) {
    Reply r = call("GET", job(id, "results"));
    EXPECT_EQ(r.status, 200) << r.raw.body;
    const std::string link(r.obj().at("results").at(index).at("link").as_string());
    return link.substr(link.find("/download/"));
  }
};

TEST_F(Results, ACompletedJobsResultIsServedWithItsSizeAndSeed) {
  ASSERT_EQ(call("POST", "/_emulator/config", R"({"resultBytes":5000})").status, 200);
  launch("t1", job_a);
  EXPECT_EQ(emu_->begin_storage("GET", "/download/" + std::string(job_a) + "/0").answer->status, 404);  // running
  clock_.advance(2s);
  auto start = emu_->begin_storage("GET", result_target(job_a, 0));
  ASSERT_FALSE(start.answer);
  EXPECT_EQ(start.download_bytes, 5000u);
  EXPECT_EQ(start.download_seed, result_seed(job_a, "out_0/result.bin"));
  EXPECT_EQ(emu_->begin_storage("GET", "/download/" + std::string(job_a) + "/1").answer->status, 404);
  EXPECT_EQ(emu_->begin_storage("GET", "/download/no-such-job/0").answer->status, 404);
  EXPECT_EQ(emu_->begin_storage("PUT", result_target(job_a, 0)).answer->status, 405);
  ASSERT_EQ(call("POST", "/_emulator/fail-next", R"({"action":"reset-mid-body","path":"/download/"})").status, 200);
  EXPECT_TRUE(emu_->begin_storage("GET", result_target(job_a, 0)).reset_mid_body);
}

TEST_F(Results, ResultBytesAreDeterministicAndTheSameFromAnyOffset) {
  const auto seed = result_seed("job", "out_0/result.bin");
  EXPECT_NE(seed, result_seed("job", "out_1/result.bin"));
  EXPECT_NE(seed, result_seed("other", "out_0/result.bin"));
  std::vector<char> whole(1000), again(1000), piece(333);
  result_bytes(seed, 0, whole.data(), whole.size());
  result_bytes(seed, 0, again.data(), again.size());
  EXPECT_EQ(whole, again);
  result_bytes(seed, 77, piece.data(), piece.size());  // an offset inside a word
  EXPECT_TRUE(std::equal(piece.begin(), piece.end(), whole.begin() + 77));
  std::vector<char> other(1000);
  result_bytes(seed + 1, 0, other.data(), other.size());
  EXPECT_NE(whole, other);
}

TEST_F(Results, HostileNameTemplatesOfferNamesThatAreNotSafePaths) {
  launch("hostile-names-1", job_a);
  clock_.advance(2s);
  Reply r = call("GET", job(job_a, "results"));
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> names;
  for (const auto& result : r.obj().at("results").as_array()) names.emplace_back(result.at("name").as_string());
  EXPECT_EQ(names, Emulator::result_names("hostile-names-1"));
  EXPECT_NE(std::find(names.begin(), names.end(), "../escape.bin"), names.end());
  EXPECT_FALSE(emu_->begin_storage("GET", result_target(job_a, 5)).answer);
}

}  // namespace
}  // namespace emulator::testing
