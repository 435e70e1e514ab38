// Job endpoints through Emulator::handle: create/update by client jobId, run once, the
// time-driven state machine, abort, results, pagination, data source checks, error shapes.
#include "emulator_fixture.hpp"

namespace emulator::testing {
namespace {

using namespace std::chrono_literals;

class CustomerApi : public EmulatorFixture {};


TEST_F(CustomerApi, TokenAnswerHasStringExpiryAndScope) {
  Reply r = exchange("demo-key");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.str("expiresIn"), "3600");
  EXPECT_EQ(r.str("scope"), "customer");
  EXPECT_EQ(r.str("token").size(), 64u);
  EXPECT_NE(r.str("token"), token_);
}

TEST_F(CustomerApi, BadKeyIsRefusedWithGenericResponse) {
  Reply r = exchange("not-the-key");
  ASSERT_EQ(r.status, 401);
  EXPECT_EQ(r.obj().at("ok"), false);
  EXPECT_EQ(n(r.obj().at("error").at("code")), 401);
  EXPECT_EQ(r.raw.body.find("not-the-key"), std::string::npos) << "key echoed";
  EXPECT_EQ(exchange("").status, 401);
  EXPECT_EQ(call("POST", "/v1/auth/access_token", "{", "").status, 400);
  EXPECT_EQ(n(ledger().at("tokenRejections")), 3);
  EXPECT_EQ(n(ledger().at("tokenExchanges")), 1);
}

TEST_F(CustomerApi, CustomerEndpointsNeedAValidToken) {
  EXPECT_EQ(call("GET", jobs(), "", "").status, 401);
  EXPECT_EQ(call("GET", jobs(), "", "made-up").status, 401);
  EXPECT_EQ(call("GET", jobs(), "", token_).status, 200);
  EXPECT_EQ(call("GET", jobs(), "", "Bearer " + token_).status, 200);
  EXPECT_EQ(call("GET", jobs(), "", "bearer  " + token_).status, 200);
  EXPECT_EQ(n(ledger().at("unauthorized")), 2);
}

TEST_F(CustomerApi, TokensExpireAfterTheirLifetime) {
  clock_.advance(3599s);
  EXPECT_EQ(call("GET", jobs()).status, 200);
  clock_.advance(1s);
  Reply r = call("GET", jobs());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.str("message"), "access token expired");
}

TEST_F(CustomerApi, CreateGeneratesAUuidWhenNoJobIdIsGiven) {
  Reply r = create("img-gen", "", "Sunset");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const auto& j = r.obj().at("job").as_object();
  EXPECT_EQ(j.at("id").as_string().size(), 36u);
  EXPECT_EQ(j.at("state"), "JOB_STATE_NEW");
  EXPECT_EQ(j.at("name"), "Sunset");
  EXPECT_EQ(j.at("paymentAmount"), "0");
  EXPECT_TRUE(j.at("startedAt").is_null());
  EXPECT_TRUE(j.at("dataSource").is_null());
  EXPECT_EQ(r.obj().at("templateInfo").at("id"), "img-gen");
  EXPECT_NE(create("img-gen").obj().at("job").at("id"), j.at("id"));
}

TEST_F(CustomerApi, CreateWithExistingJobIdUpdatesWhileNew) {
  ASSERT_EQ(create("t1", job_a, "first").status, 200);
  Reply again = create("t2", job_a, "second");
  ASSERT_EQ(again.status, 200) << again.raw.body;
  EXPECT_EQ(again.obj().at("job").at("id"), job_a);
  EXPECT_EQ(again.obj().at("job").at("name"), "second");
  EXPECT_EQ(again.obj().at("job").at("templateId"), "t2");

  auto entry = ledger_job(job_a);
  EXPECT_EQ(n(entry.at("creates")), 2);
  EXPECT_EQ(n(ledger().at("totals").at("jobs")), 1);
  EXPECT_EQ(call("GET", jobs()).obj().at("pagination").at("total"), "1");
}

TEST_F(CustomerApi, CreateWithJobIdIsRefusedOnceRun) {
  launch("t1", job_a);
  Reply r = create("t1", job_a);
  expect_rpc_status(r, 400, 9, "job has already been started");
  EXPECT_EQ(n(ledger_job(job_a).at("rejectedCreates")), 1);
  EXPECT_EQ(n(ledger_job(job_a).at("creates")), 1);
}

TEST_F(CustomerApi, JobIdsAreCaseInsensitive) {
  ASSERT_EQ(create("t1", "0B9E4B5E-1111-4222-8333-444455556666").status, 200);
  EXPECT_EQ(call("GET", job(job_a)).status, 200);
  EXPECT_EQ(call("GET", job("0B9E4B5E-1111-4222-8333-444455556666")).status, 200);
}

TEST_F(CustomerApi, CreateValidatesItsBody) {
  expect_rpc_status(call("POST", jobs(), "{}"), 400, 3, "templateId is required");
  expect_rpc_status(call("POST", jobs(), R"({"templateId":""})"), 400, 3, "templateId");
  expect_rpc_status(call("POST", jobs(), R"({"templateId":"t","name":5})"), 400, 3,
                    "name must be a string");
  expect_rpc_status(create("t", "job-1"), 400, 3, "jobId must be a UUID");
  expect_rpc_status(call("POST", jobs(), "{not json"), 400, 3, "malformed JSON");
  expect_rpc_status(call("POST", jobs(), "[1]"), 400, 3, "JSON object");
  expect_rpc_status(call("POST", jobs(), ""), 400, 3);
  EXPECT_EQ(n(ledger().at("totals").at("jobs")), 0);
}

TEST_F(CustomerApi, TemplateRulesProduceForbiddenAndNotFound) {
  expect_rpc_status(create("denied-gpu"), 403, 7, "permission denied");
  expect_rpc_status(create("missing-app"), 404, 5, "not found");
  EXPECT_EQ(n(ledger().at("totals").at("creates")), 0);
}

TEST_F(CustomerApi, OneShotCreateAppliesDataSourceAndParams) {
  Reply r = call("POST", jobs(),
                 R"({"templateId":"t","dataSource":{"dataSourceDescriptor":"bypass"},)"
                 R"("dataDestination":{"dataSourceDescriptor":"bucket"},)"
                 R"("params":{"app":{"prompt":"x"}}})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const std::string id(r.obj().at("job").at("id").as_string());
  EXPECT_EQ(r.obj().at("job").at("params").at("app").at("prompt"), "x");
  EXPECT_EQ(run(id).status, 200);
  expect_rpc_status(
      call("POST", jobs(), R"({"templateId":"t","dataSource":{"dataSourceDescriptor":"bucket"}})"),
      400, 3, "output-only");
}

TEST_F(CustomerApi, RunNeedsADataSource) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  expect_rpc_status(run(job_a), 400, 9, "data source not set");
  EXPECT_EQ(n(ledger_job(job_a).at("rejectedRuns")), 1);
  EXPECT_EQ(state_of(job_a), "JOB_STATE_NEW");
}

TEST_F(CustomerApi, SecondRunIsRefused) {
  launch("t1", job_a);
  expect_rpc_status(run(job_a), 400, 9, "job has already been started");
  auto entry = ledger_job(job_a);
  EXPECT_EQ(n(entry.at("runs")), 1);
  EXPECT_EQ(n(entry.at("rejectedRuns")), 1);
  EXPECT_EQ(n(ledger().at("totals").at("runs")), 1);
  EXPECT_EQ(n(ledger().at("totals").at("rejectedRuns")), 1);
}

TEST_F(CustomerApi, RunAnswersOkAndStoresTheConfig) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  ASSERT_EQ(set_bypass(job_a).status, 200);
  Reply r = run(job_a, R"({"taskTimeout":"3600","jobTimeout":86400,"isTestJob":true})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.raw.body, R"({"ok":true,"requestId":"","message":"","error":null})");
  auto j = call("GET", job(job_a)).obj().at("job").as_object();
  EXPECT_EQ(j.at("config").at("taskTimeout"), "3600");
  EXPECT_EQ(j.at("config").at("jobTimeout"), "86400");
  EXPECT_EQ(j.at("config").at("isTestJob"), true);
  EXPECT_FALSE(j.at("startedAt").is_null());
  EXPECT_FALSE(j.at("submittedAt").is_null());
}

TEST_F(CustomerApi, RunToleratesAnEmptyBodyButNotBadTypes) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  ASSERT_EQ(set_bypass(job_a).status, 200);
  expect_rpc_status(run(job_a, R"({"taskTimeout":"soon"})"), 400, 3, "taskTimeout");
  expect_rpc_status(run(job_a, R"({"isTestJob":1})"), 400, 3, "isTestJob");
  EXPECT_EQ(run(job_a, "").status, 200);
}

TEST_F(CustomerApi, StateMachineRunsToCompleteOverTheJobDuration) {
  launch("t1", job_a);  // default duration 2000 ms: 200 ms partitioning
  EXPECT_EQ(state_of(job_a), "JOB_STATE_PARTITIONING");
  expect_rpc_status(call("GET", job(job_a, "results")), 400, 9, "job has not yet been completed");
  clock_.advance(200ms);
  EXPECT_EQ(state_of(job_a), "JOB_STATE_RUNNING");
  clock_.advance(1799ms);
  EXPECT_EQ(state_of(job_a), "JOB_STATE_RUNNING");
  EXPECT_TRUE(call("GET", job(job_a)).obj().at("job").at("endedAt").is_null());
  clock_.advance(1ms);
  auto j = call("GET", job(job_a)).obj().at("job").as_object();
  EXPECT_EQ(j.at("state"), "JOB_STATE_COMPLETE");
  EXPECT_FALSE(j.at("endedAt").is_null());
  EXPECT_TRUE(j.at("errorMessage").is_null());
  EXPECT_EQ(j.at("duration"), "2");

  Reply results = call("GET", job(job_a, "results"));
  ASSERT_EQ(results.status, 200);
  const auto& first = results.obj().at("results").at(0);
  EXPECT_EQ(first.at("name"), "out_0/result.bin");
  EXPECT_EQ(first.at("link"), js("https://127.0.0.1/download/" + std::string(job_a) + "/0"));
}

TEST_F(CustomerApi, FailTemplatesEndFailedWithAnErrorMessage) {
  launch("fail-render", job_a);
  clock_.advance(2s);
  auto j = call("GET", job(job_a)).obj().at("job").as_object();
  EXPECT_EQ(j.at("state"), "JOB_STATE_FAILED");
  EXPECT_TRUE(j.at("errorMessage").is_string());
  EXPECT_FALSE(j.at("endedAt").is_null());
  expect_rpc_status(call("GET", job(job_a, "results")), 400, 9);
}

TEST_F(CustomerApi, JobDurationIsFixedAtRunTime) {
  launch("t1", job_a);
  ASSERT_EQ(call("POST", "/_emulator/config", R"({"jobDurationMs":10})").status, 200);
  launch("t1", job_b);
  clock_.advance(10ms);
  EXPECT_EQ(state_of(job_b), "JOB_STATE_COMPLETE");
  EXPECT_EQ(state_of(job_a), "JOB_STATE_PARTITIONING");  // still on its 2000 ms plan
}

TEST_F(CustomerApi, AbortDeletesANewJob) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  Reply r = call("POST", job(job_a, "abort"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.obj().at("ok"), true);
  expect_rpc_status(call("GET", job(job_a)), 404, 5);
  auto entry = ledger_job(job_a);
  EXPECT_EQ(entry.at("deleted"), true);
  EXPECT_EQ(n(entry.at("aborts")), 1);
  // The id can be used again; its ledger history continues.
  ASSERT_EQ(create("t1", job_a).status, 200);
  EXPECT_EQ(n(ledger_job(job_a).at("creates")), 2);
  EXPECT_EQ(ledger_job(job_a).at("deleted"), false);
}

TEST_F(CustomerApi, AbortStopsARunningJobAndRefusesAnEndedOne) {
  launch("t1", job_a);
  clock_.advance(500ms);
  ASSERT_EQ(call("POST", job(job_a, "abort")).status, 200);
  auto j = call("GET", job(job_a)).obj().at("job").as_object();
  EXPECT_EQ(j.at("state"), "JOB_STATE_ABORTED");
  EXPECT_FALSE(j.at("endedAt").is_null());
  clock_.advance(30min);  // stays aborted after the natural end
  EXPECT_EQ(state_of(job_a), "JOB_STATE_ABORTED");
  expect_rpc_status(call("POST", job(job_a, "abort")), 400, 9, "already ended");

  launch("t1", job_b);
  clock_.advance(2s);
  expect_rpc_status(call("POST", job(job_b, "abort")), 400, 9, "JOB_STATE_COMPLETE");
  expect_rpc_status(call("POST", job("00000000-0000-4000-8000-000000000000", "abort")), 404, 5);
}

TEST_F(CustomerApi, DeleteRemovesAJob) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  EXPECT_EQ(call("DELETE", job(job_a)).status, 200);
  EXPECT_EQ(call("GET", job(job_a)).status, 404);
  EXPECT_EQ(call("DELETE", job(job_a)).status, 404);
}

TEST_F(CustomerApi, ListPaginatesInCreationOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(std::string(
        create("t", "", "job" + std::to_string(i)).obj().at("job").at("id").as_string()));
    clock_.advance(1ms);
  }
  // Updating a job must not move it in the order.
  ASSERT_EQ(create("t", ids[0], "renamed").status, 200);

  Reply page = call("GET", jobs("?pagination.limit=2&pagination.offset=0"));
  ASSERT_EQ(page.status, 200) << page.raw.body;
  const auto& p = page.obj().at("pagination");
  EXPECT_EQ(p.at("total"), "5");
  EXPECT_EQ(p.at("offset"), "0");
  EXPECT_EQ(p.at("hasPrevious"), false);
  EXPECT_EQ(p.at("hasNext"), true);
  ASSERT_EQ(page.obj().at("data").as_array().size(), 2u);
  EXPECT_EQ(page.obj().at("data").at(0).at("id"), js(ids[0]));
  EXPECT_EQ(page.obj().at("data").at(1).at("id"), js(ids[1]));

  Reply last = call("GET", jobs("?pagination.limit=2&pagination.offset=4"));
  EXPECT_EQ(last.obj().at("pagination").at("hasPrevious"), true);
  EXPECT_EQ(last.obj().at("pagination").at("hasNext"), false);
  ASSERT_EQ(last.obj().at("data").as_array().size(), 1u);
  EXPECT_EQ(last.obj().at("data").at(0).at("id"), js(ids[4]));

  EXPECT_TRUE(call("GET", jobs("?pagination.offset=9")).obj().at("data").as_array().empty());
  expect_rpc_status(call("GET", jobs("?pagination.limit=-1")), 400, 3, "pagination.limit");
  expect_rpc_status(call("GET", jobs("?pagination.offset=x")), 400, 3, "pagination.offset");

  // A deleted job leaves the listing.
  ASSERT_EQ(call("POST", job(ids[2], "abort")).status, 200);
  Reply all = call("GET", jobs());
  EXPECT_EQ(all.obj().at("pagination").at("total"), "4");
  EXPECT_EQ(all.obj().at("data").at(2).at("id"), js(ids[3]));
}

TEST_F(CustomerApi, DataSourcePatchValidatesDescriptors) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  auto patch = [&](std::string_view body) { return call("PATCH", job(job_a, "datasource"), body); };
  expect_rpc_status(patch(R"({"dataSource":{"dataSourceDescriptor":"bucket"},)"
                          R"("dataDestination":{"dataSourceDescriptor":"bucket"}})"),
                    400, 3, "\"bucket\" is output-only");
  expect_rpc_status(patch(R"({"dataSource":{"dataSourceDescriptor":"bypass"},)"
                          R"("dataDestination":{"dataSourceDescriptor":"url"}})"),
                    400, 3, "\"url\" is input-only");
  expect_rpc_status(patch(R"({"dataSource":{"dataSourceDescriptor":"url"},)"
                          R"("dataDestination":{"dataSourceDescriptor":"bucket"}})"),
                    400, 3, "dataSource.params.url is required");
  expect_rpc_status(patch(R"({"dataSource":{"dataSourceDescriptor":"ftp"},)"
                          R"("dataDestination":{"dataSourceDescriptor":"bucket"}})"),
                    400, 3, "\"ftp\" is not supported");
  expect_rpc_status(patch(R"({"dataSource":{"dataSourceDescriptor":"bypass"}})"), 400, 3,
                    "dataDestination is required");
  expect_rpc_status(patch(R"({"dataSource":{"dataSourceDescriptor":"s3"},)"
                          R"("dataDestination":{"dataSourceDescriptor":"bypass"}})"),
                    400, 3, "bucketName");
  expect_rpc_status(patch("nope"), 400, 3, "malformed JSON");
  EXPECT_EQ(n(ledger_job(job_a).at("datasourcePatches")), 0);
  EXPECT_EQ(ledger_job(job_a).at("dataSourceSet"), false);

  Reply ok = patch(R"({"dataSource":{"dataSourceDescriptor":"url","params":{)"
                   R"("@type":"type.googleapis.com/bytenite.data_source.HttpDataSource",)"
                   R"("url":"https://storage.example.com/in.txt"}},)"
                   R"("dataDestination":{"dataSourceDescriptor":"bucket"}})");
  ASSERT_EQ(ok.status, 200) << ok.raw.body;
  EXPECT_EQ(ok.obj().at("job").at("dataSource").at("params").at("url"),
            "https://storage.example.com/in.txt");
  EXPECT_EQ(n(ledger_job(job_a).at("datasourcePatches")), 1);
  EXPECT_EQ(ledger_job(job_a).at("dataSourceSet"), true);

  expect_rpc_status(call("PATCH", job(job_b, "datasource"),
                         R"({"dataSource":{"dataSourceDescriptor":"bypass"},)"
                         R"("dataDestination":{"dataSourceDescriptor":"bypass"}})"),
                    404, 5);
}

TEST_F(CustomerApi, FileDataSourceGetsAnUploadUrl) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  Reply r = call("PATCH", job(job_a, "datasource"),
                 R"({"dataSource":{"dataSourceDescriptor":"file"},)"
                 R"("dataDestination":{"dataSourceDescriptor":"bucket"}})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  const std::string url(r.obj().at("job").at("dataSource").at("params").at("tempUrl").as_string());
  EXPECT_EQ(url.rfind("https://127.0.0.1/upload/" + std::string(job_a) + "?sig=", 0), 0u) << url;
  // Nothing was PUT there yet: the upload cannot be completed.
  expect_rpc_status(call("PATCH", job(job_a, "uploadcompleted"), "{}"), 400, 9, "no upload arrived");
}

TEST_F(CustomerApi, PatchesAreRefusedOnceStarted) {
  launch("t1", job_a);
  expect_rpc_status(set_bypass(job_a), 400, 9, "already been started");
  expect_rpc_status(call("PATCH", job(job_a, "params"), R"({"app":{}})"), 400, 9);
}

TEST_F(CustomerApi, ParamsPatchMergesObjectsAndRejectsOthers) {
  ASSERT_EQ(create("t1", job_a).status, 200);
  expect_rpc_status(call("PATCH", job(job_a, "params"), R"({"app":"prompt"})"), 400, 3,
                    "app must be a JSON object");
  ASSERT_EQ(call("PATCH", job(job_a, "params"), R"({"app":{"prompt":"A sunset"}})").status, 200);
  Reply r = call("PATCH", job(job_a, "params"), R"({"partitioner":{"numImages":20}})");
  ASSERT_EQ(r.status, 200);
  const auto& params = r.obj().at("job").at("params");
  EXPECT_EQ(params.at("app").at("prompt"), "A sunset");
  EXPECT_EQ(params.at("partitioner").at("numImages"), 20);
  auto entry = ledger_job(job_a);
  EXPECT_EQ(n(entry.at("paramsPatches")), 2);
  EXPECT_EQ(entry.at("paramsSet"), true);
}

TEST_F(CustomerApi, UnknownPathsAndMethods) {
  expect_rpc_status(call("GET", "/v1/customer/things"), 404, 5);
  expect_rpc_status(call("GET", "/v2/whatever"), 404, 5);
  expect_rpc_status(call("PUT", jobs()), 405, 12);
  expect_rpc_status(call("GET", job(job_a, "run")), 405, 12);
  expect_rpc_status(call("GET", "/v1/auth/access_token"), 405, 12);
  expect_rpc_status(call("GET", job(job_a)), 404, 5, "not found");
}

TEST_F(CustomerApi, CustomerPathIsConfigurable) {
  EmulatorSettings s;
  s.customer_path = "/computing/";
  start(s);
  EXPECT_EQ(call("GET", "/v1/computing/jobs").status, 200);
  EXPECT_EQ(call("GET", "/v1/customer/jobs").status, 404);
  EXPECT_EQ(call("GET", "/v1/computingx/jobs").status, 404);
}

TEST_F(CustomerApi, LedgerCountsEverySubmitStep) {
  launch("t1", job_a);
  ASSERT_EQ(call("PATCH", job(job_b, "params"), "{}").status, 404);
  json::object l = ledger();
  EXPECT_EQ(n(l.at("requests")), 5);  // token, create, datasource, run, params
  const auto& totals = l.at("totals");
  EXPECT_EQ(n(totals.at("jobs")), 1);
  EXPECT_EQ(n(totals.at("creates")), 1);
  EXPECT_EQ(n(totals.at("datasourcePatches")), 1);
  EXPECT_EQ(n(totals.at("paramsPatches")), 0);
  EXPECT_EQ(n(totals.at("runs")), 1);
  auto entry = ledger_job(job_a);
  EXPECT_EQ(entry.at("templateId"), "t1");
  EXPECT_EQ(entry.at("state"), "JOB_STATE_PARTITIONING");
}

}  // namespace
}  // namespace emulator::testing
