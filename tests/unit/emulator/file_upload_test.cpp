// The upload path of a "file" data source: a job runs only once its upload is completed
// (uploadcompleted since its data source was set), as the API answers.
#include "emulator_fixture.hpp"

namespace emulator::testing {
namespace {

class FileUpload : public EmulatorFixture {};

// A "file" job runs only after its upload: uploadcompleted since its data source was set.
TEST_F(FileUpload, AFileJobRunsOnlyOnceItsUploadIsCompleted) {
  const std::string file_source = R"({"dataSource":{"dataSourceDescriptor":"file"},)"
                                  R"("dataDestination":{"dataSourceDescriptor":"bucket"}})";
  ASSERT_EQ(create("t1", job_a).status, 200);
  Reply patched = call("PATCH", job(job_a, "datasource"), file_source);
  ASSERT_EQ(patched.status, 200) << patched.raw.body;
  EXPECT_NE(patched.raw.body.find("tempUrl"), std::string::npos) << patched.raw.body;
  expect_rpc_status(run(job_a), 400, 9, "upload not completed");
  EXPECT_EQ(n(ledger_job(job_a).at("rejectedRuns")), 1);
  EXPECT_EQ(call("PATCH", job(job_a, "uploadcompleted"), "{}").status, 200);
  EXPECT_EQ(run(job_a).status, 200);
  EXPECT_EQ(n(ledger_job(job_a).at("runs")), 1);

  // A new data source is a new upload: completed again before the run.
  ASSERT_EQ(create("t1", job_b).status, 200);
  ASSERT_EQ(call("PATCH", job(job_b, "datasource"), file_source).status, 200);
  EXPECT_EQ(call("PATCH", job(job_b, "uploadcompleted"), "{}").status, 200);
  ASSERT_EQ(call("PATCH", job(job_b, "datasource"), file_source).status, 200);
  expect_rpc_status(run(job_b), 400, 9, "upload not completed");
  EXPECT_EQ(call("PATCH", job("no-such-job", "uploadcompleted"), "{}").status, 404);
}

}  // namespace
}  // namespace emulator::testing
