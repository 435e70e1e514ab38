// The upload path of a "file" data source: a PUT to the job's tempUrl (the storage
// endpoint's decisions, without its sockets), then uploadcompleted; a job runs only once its
// upload is completed since its data source was set. Storage faults and refusals.
#include "emulator_fixture.hpp"

namespace emulator::testing {
namespace {

class FileUpload : public EmulatorFixture {
 protected:
  const std::string file_source = R"({"dataSource":{"dataSourceDescriptor":"file"},)"
                                  R"("dataDestination":{"dataSourceDescriptor":"bucket"}})";
  // The datasource PATCH's tempUrl, as the target a client sends to the storage host.
  std::string upload_target(const std::string& id) {
    Reply patched = call("PATCH", job(id, "datasource"), file_source);
    EXPECT_EQ(patched.status, 200) << patched.raw.body;
    const std::string url(patched.obj().at("job").at("dataSource").at("params").at("tempUrl").as_string());
    return url.substr(url.find("/upload/"));
  }
  // A PUT that arrives whole.
  int put(const std::string& target, std::uint64_t bytes = 5, const std::string& sha = "ab") {
    auto start = emu_->begin_storage("PUT", target);
    if (start.answer) return start.answer->status;
    EXPECT_FALSE(start.reset_before || start.reset_mid_body);
    return emu_->end_upload(start.job_id, bytes, sha).status;
  }
};

// A "file" job runs only after its upload: uploadcompleted since its data source was set.
TEST_F(FileUpload, AFileJobRunsOnlyOnceItsUploadIsCompleted) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  const std::string target = upload_target(job_a);
  expect_rpc_status(run(job_a), 400, 9, "upload not completed");
  EXPECT_EQ(n(ledger_job(job_a).at("rejectedRuns")), 1);
  expect_rpc_status(call("PATCH", job(job_a, "uploadcompleted"), "{}"), 400, 9, "no upload arrived");
  EXPECT_EQ(put(target, 1234, "c0ffee"), 200);
  EXPECT_EQ(n(ledger_job(job_a).at("uploads")), 1);
  EXPECT_EQ(n(ledger_job(job_a).at("uploadBytes")), 1234);
  EXPECT_EQ(ledger_job(job_a).at("uploadSha256").as_string(), "c0ffee");
  EXPECT_EQ(call("PATCH", job(job_a, "uploadcompleted"), "{}").status, 200);
  EXPECT_EQ(run(job_a).status, 200);
  EXPECT_EQ(n(ledger_job(job_a).at("runs")), 1);

  // A new data source is a new upload: completed again before the run.
  ASSERT_EQ(create("t1", job_b).status, 200);
  const std::string first = upload_target(job_b);
  EXPECT_EQ(put(first), 200);
  EXPECT_EQ(call("PATCH", job(job_b, "uploadcompleted"), "{}").status, 200);
  const std::string second = upload_target(job_b);
  expect_rpc_status(run(job_b), 400, 9, "upload not completed");
  expect_rpc_status(call("PATCH", job(job_b, "uploadcompleted"), "{}"), 400, 9, "no upload arrived");
  EXPECT_EQ(put(first), 403);  // the old URL's signature is no longer the job's
  EXPECT_EQ(put(second), 200);
  EXPECT_EQ(call("PATCH", job("no-such-job", "uploadcompleted"), "{}").status, 404);
}

TEST_F(FileUpload, TheStorageEndpointRefusesWhatIsNotAnUploadOfANewFileJob) {
  EXPECT_EQ(put("/elsewhere"), 404);
  EXPECT_EQ(emu_->begin_storage("GET", "/upload/x?sig=y").answer->status, 405);
  EXPECT_EQ(put("/upload/no-such-job?sig=y"), 404);
  ASSERT_EQ(create("t1", job_a).status, 200);
  const std::string target = upload_target(job_a);
  EXPECT_EQ(put(target.substr(0, target.find('?'))), 403);  // unsigned
  ASSERT_EQ(put(target), 200);
  ASSERT_EQ(call("PATCH", job(job_a, "uploadcompleted"), "{}").status, 200);
  ASSERT_EQ(run(job_a).status, 200);
  EXPECT_EQ(put(target), 409);  // a started job's input is fixed
  EXPECT_EQ(n(ledger_job(job_a).at("uploads")), 1);
}

TEST_F(FileUpload, StorageFaultsComeFromTheirKnobsAndScripts) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  const std::string target = upload_target(job_a);
  ASSERT_EQ(call("POST", "/_emulator/fail-next", R"({"action":"reset-mid-body","path":"/upload/"})").status, 200);
  EXPECT_TRUE(emu_->begin_storage("PUT", target).reset_mid_body);
  ASSERT_EQ(call("POST", "/_emulator/config", R"({"storageFail503":1})").status, 200);
  EXPECT_EQ(emu_->begin_storage("PUT", target).answer->status, 503);
  ASSERT_EQ(call("POST", "/_emulator/config", R"({"storageFail503":0,"storageResetBefore":1})").status, 200);
  EXPECT_TRUE(emu_->begin_storage("PUT", target).reset_before);
  ASSERT_EQ(call("POST", "/_emulator/config",
                 R"({"storageResetBefore":0,"storageSlowBody":1,"storageSlowBodyMs":7})").status, 200);
  EXPECT_EQ(emu_->begin_storage("PUT", target).slow_body, std::chrono::milliseconds(7));
  // API calls never draw storage faults.
  EXPECT_EQ(call("GET", job(job_a)).status, 200);
}

}  // namespace
}  // namespace emulator::testing
