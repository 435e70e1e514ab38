// Role: the journal's records in SQLite (see journal_store.hpp).
#include "journal/journal_store.hpp"

#include <algorithm>
#include <set>

namespace submitd::journal {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS requests(
  claim_id TEXT NOT NULL,
  line INTEGER NOT NULL,
  job_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  step INTEGER NOT NULL,
  status INTEGER,
  outcome TEXT,
  PRIMARY KEY(claim_id, line)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS request_ids(
  request_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  accepted_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS request_ids_by_age ON request_ids(accepted_ms);
)sql";

// Format 2: a given requestId keeps its outcome after its file is placed (so it can be looked
// up), and requests can be found by requestId while they are worked.
constexpr std::string_view kUpgradeTo2 = R"sql(
ALTER TABLE request_ids ADD COLUMN status INTEGER;
ALTER TABLE request_ids ADD COLUMN outcome TEXT;
CREATE INDEX IF NOT EXISTS requests_by_request_id ON requests(request_id);
)sql";

// Format 3: jobs followed to their end (job following), with their final state once ended.
constexpr std::string_view kUpgradeTo3 = R"sql(
CREATE TABLE IF NOT EXISTS followed(
  job_id TEXT PRIMARY KEY,
  claim_id TEXT NOT NULL,
  line INTEGER NOT NULL,
  request_id TEXT,
  deadline_ms INTEGER NOT NULL,
  final TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS followed_by_claim ON followed(claim_id);
)sql";

// Format 5: an ended job whose results are still downloading keeps its file waiting.
constexpr std::string_view kUpgradeTo5 = R"sql(
ALTER TABLE followed ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0;
)sql";

constexpr std::string_view kFollowedColumns = "job_id, claim_id, line, deadline_ms, final, request_id, downloads";

std::string select_followed(std::string_view where) {
  return "SELECT " + std::string(kFollowedColumns) + " FROM followed " + std::string(where);
}

int open_flags(bool read_only) {
  return read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
}

}  // namespace

JournalStore::JournalStore(const Options& options)
    : options_(options),
      created_(!std::filesystem::exists(options.file)),
      db_(options.file.string(), open_flags(options.read_only)) {
  std::int64_t version = 0;
  try {
    // Reads the file's header: a file that is not a database (truncated, overwritten) fails here.
    version = db_.scalar_int("PRAGMA user_version");
    if (version > 0) db_.scalar_int("SELECT count(*) FROM sqlite_schema");
  } catch (const JournalError& e) {
    throw JournalError("the journal " + options.file.string() + " cannot be read (" + e.what() +
                       "). Restore it with its -wal file from a backup; or move the three journal.sqlite* "
                       "files aside to start with an empty journal (requests of files in active/ then read "
                       "their jobs before sending anything)");
  }
  // An existing file without a schema (emptied, its WAL lost before the first checkpoint, a
  // backup restored without its -wal) knows nothing of earlier work: like no journal at all,
  // recovered requests must read their jobs before sending anything.
  if (version == 0) created_ = true;
  if (version > kJournalFormatVersion) {
    throw JournalError("the journal " + options.file.string() + " has format version " +
                       std::to_string(version) + ", written by a newer bytenite-submitd; this one reads "
                       "version " + std::to_string(kJournalFormatVersion) +
                       ". Run the newer daemon, or move the state directory aside to start afresh");
  }
  if (!options.read_only) {
    db_.exec("PRAGMA journal_mode=WAL");
    // FULL: every commit is fsynced (the WAL), so a committed batch survives power loss.
    db_.exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    if (version < kJournalFormatVersion) {
      // Create, or upgrade an older format in place, in one transaction.
      db_.exec("BEGIN");
      if (version == 0) db_.exec(kSchema);
      if (version < 2) db_.exec(kUpgradeTo2);
      if (version < 3) db_.exec(kUpgradeTo3);
      // 4 adds a step value, not a table: only the version changes.
      if (version < 5) db_.exec(kUpgradeTo5);
      db_.exec("PRAGMA user_version=" + std::to_string(kJournalFormatVersion));
      db_.exec("COMMIT");
    }
  } else if (version == 0) {
    throw JournalError("the journal " + options.file.string() + " has no schema yet");
  }
  find_row_ = Statement(db_.handle(), "SELECT step, job_id, outcome, status FROM requests WHERE claim_id=?1 AND line=?2");
  followed_of_claim_ = Statement(db_.handle(), select_followed("WHERE claim_id=?1 ORDER BY line"));
  jobs_of_claim_ = Statement(
      db_.handle(), "SELECT job_id FROM requests WHERE claim_id=?1 AND step=3 AND status=?2 ORDER BY line");
  unfinished_followed_ = Statement(db_.handle(), select_followed("WHERE final IS NULL LIMIT ?1"));
  pending_downloads_ = Statement(db_.handle(), select_followed("WHERE downloads=1 LIMIT ?1"));
  prepare_message_statements();
  if (options.read_only) return;
  insert_followed_ = Statement(db_.handle(),
                               "INSERT OR IGNORE INTO followed(job_id, claim_id, line, request_id, deadline_ms) "
                               "VALUES(?1, ?2, ?3, ?4, ?5)");
  set_final_ = Statement(db_.handle(), "UPDATE followed SET final=?2 WHERE job_id=?1 AND final IS NULL");
  set_pending_final_ =
      Statement(db_.handle(), "UPDATE followed SET final=?2, downloads=1 WHERE job_id=?1 AND final IS NULL");
  finish_downloads_ =
      Statement(db_.handle(), "UPDATE followed SET final=?2, downloads=0 WHERE job_id=?1 AND downloads=1");
  // The index's outcome line is a JSON object and a newline: its closing brace gives way to
  // "final".
  merge_final_ = Statement(db_.handle(),
                           "UPDATE request_ids SET outcome = substr(rtrim(outcome, char(10)), 1, "
                           "length(rtrim(outcome, char(10))) - 1) || ',\"final\":' || ?2 || '}' || char(10) "
                           "WHERE request_id = (SELECT request_id FROM followed WHERE job_id=?1) AND job_id=?1 "
                           "AND rtrim(outcome, char(10)) LIKE '%}' AND instr(outcome, '\"final\":') = 0");
  forget_followed_ = Statement(db_.handle(), "DELETE FROM followed WHERE claim_id=?1");
  Statement claims(db_.handle(), "SELECT DISTINCT claim_id FROM requests");
  while (claims.step()) claims_with_rows_.insert(claims.column_text(0));
  // Prepared once: the control socket looks requests up on every GET /v1/jobs/{id}.
  lookup_kept_ = Statement(db_.handle(), "SELECT job_id, status, outcome FROM request_ids WHERE request_id=?1");
  lookup_in_work_ = Statement(db_.handle(),
                              "SELECT job_id, step, status, outcome, claim_id FROM requests WHERE request_id=?1 LIMIT 1");
  insert_row_ = Statement(db_.handle(),
                          "INSERT INTO requests(claim_id, line, job_id, request_id, step) VALUES(?1, ?2, ?3, ?4, 0)");
  find_request_id_ = Statement(db_.handle(), "SELECT job_id, accepted_ms FROM request_ids WHERE request_id=?1");
  upsert_request_id_ = Statement(
      db_.handle(), "INSERT OR REPLACE INTO request_ids(request_id, job_id, accepted_ms) VALUES(?1, ?2, ?3)");
  // The stored step's rank (step_rank, in SQL) must be below the new one's.
  set_step_ = Statement(db_.handle(),
                        "UPDATE requests SET step=?3 WHERE claim_id=?1 AND line=?2 AND "
                        "(CASE step WHEN 4 THEN 15 ELSE step*10 END) < ?4");
  finish_row_ = Statement(db_.handle(),
                          "UPDATE requests SET step=3, status=?3, outcome=?4 WHERE claim_id=?1 AND line=?2");
  release_request_id_ = Statement(db_.handle(), "DELETE FROM request_ids WHERE request_id=?1 AND job_id=?2");
  keep_outcome_ = Statement(db_.handle(),
                            "UPDATE request_ids SET status=?3, outcome=?4 WHERE request_id=?1 AND job_id=?2");
  forget_claim_ = Statement(db_.handle(), "DELETE FROM requests WHERE claim_id=?1");
  prune_ = Statement(db_.handle(), "DELETE FROM request_ids WHERE accepted_ms<?1");
}

int step_rank(Step step) {
  // Kept in step with the CASE of set_step_'s SQL.
  return step == Step::uploaded ? 15 : static_cast<int>(step) * 10;
}

void JournalStore::begin() { db_.exec("BEGIN IMMEDIATE"); }
void JournalStore::commit() { db_.exec("COMMIT"); }
void JournalStore::rollback() {
  if (!sqlite3_get_autocommit(db_.handle())) db_.exec("ROLLBACK");
}

std::optional<JournalStore::Row> JournalStore::row(const std::string& claim_id, std::uint64_t line) {
  find_row_.bind(1, claim_id).bind(2, static_cast<std::int64_t>(line));
  std::optional<Row> out;
  if (find_row_.step()) {
    Row r;
    r.step = static_cast<Step>(std::clamp<std::int64_t>(find_row_.column_int(0), 0, 4));
    r.job_id = find_row_.column_text(1);
    r.outcome_line = find_row_.column_text(2);
    r.status = static_cast<int>(find_row_.column_int(3));
    out = std::move(r);
  }
  find_row_.reset();
  return out;
}

AcceptVerdict JournalStore::accept(const Accept& a) {
  AcceptVerdict v;
  // A claim without rows (a file accepted for the first time) cannot have this request's.
  const bool may_have_row = !claims_with_rows_.insert(a.claim_id).second;
  if (auto existing = may_have_row ? row(a.claim_id, a.line) : std::nullopt) {
    // The same request again (a restart resumed its file): report how far it got.
    if (existing->step == Step::finished) {
      v.kind = AcceptVerdict::Kind::finished;
      v.outcome_line = std::move(existing->outcome_line);
      v.status = existing->status;
    } else {
      v.kind = AcceptVerdict::Kind::resumed;
    }
    v.step = existing->step;
    return v;
  }
  if (a.request_id_given) {
    find_request_id_.bind(1, a.request_id);
    if (find_request_id_.step()) {
      std::string earlier = find_request_id_.column_text(0);
      std::int64_t when = find_request_id_.column_int(1);
      bool within = a.accepted_ms - when < options_.request_id_retention.count();
      if (earlier != a.job_id && within) {
        v.kind = AcceptVerdict::Kind::duplicate;
        v.earlier_job_id = std::move(earlier);
      }
    }
    find_request_id_.reset();
  }
  insert_row_.bind(1, a.claim_id).bind(2, static_cast<std::int64_t>(a.line)).bind(3, a.job_id).bind(4, a.request_id);
  insert_row_.step();
  insert_row_.reset();
  if (v.kind == AcceptVerdict::Kind::fresh && a.request_id_given) {
    upsert_request_id_.bind(1, a.request_id).bind(2, a.job_id).bind(3, a.accepted_ms);
    upsert_request_id_.step();
    upsert_request_id_.reset();
  }
  return v;
}

void JournalStore::progress(const std::string& claim_id, std::uint64_t line, Step step) {
  set_step_.bind(1, claim_id).bind(2, static_cast<std::int64_t>(line)).bind(3, static_cast<std::int64_t>(step));
  set_step_.bind(4, static_cast<std::int64_t>(step_rank(step)));
  set_step_.step();
  set_step_.reset();
}

void JournalStore::finish(const Finish& f) {
  finish_row_.bind(1, f.claim_id).bind(2, static_cast<std::int64_t>(f.line)).bind(3, std::int64_t{f.status});
  finish_row_.bind(4, f.outcome_line);
  finish_row_.step();
  finish_row_.reset();
  if (f.release_request_id) {
    release_request_id_.bind(1, *f.release_request_id).bind(2, f.job_id);
    release_request_id_.step();
    release_request_id_.reset();
  } else if (f.keep_for_request_id) {
    keep_outcome_.bind(1, *f.keep_for_request_id).bind(2, f.job_id).bind(3, std::int64_t{f.status});
    keep_outcome_.bind(4, f.outcome_line);
    keep_outcome_.step();
    keep_outcome_.reset();
  }
  if (f.follow_deadline_ms) {
    insert_followed_.bind(1, f.job_id).bind(2, f.claim_id).bind(3, static_cast<std::int64_t>(f.line));
    if (f.keep_for_request_id) insert_followed_.bind(4, *f.keep_for_request_id);
    else insert_followed_.bind_null(4);
    insert_followed_.bind(5, *f.follow_deadline_ms);
    insert_followed_.step();
    insert_followed_.reset();
  }
}

void JournalStore::set_final(const std::string& job_id, const std::string& final_json, bool downloads_pending) {
  Statement& set = downloads_pending ? set_pending_final_ : set_final_;
  set.bind(1, job_id).bind(2, final_json);
  set.step();
  set.reset();
  if (downloads_pending) return;  // merged once the downloads are done
  merge_final_.bind(1, job_id).bind(2, final_json);
  merge_final_.step();
  merge_final_.reset();
}

void JournalStore::finish_downloads(const std::string& job_id, const std::string& final_json) {
  finish_downloads_.bind(1, job_id).bind(2, final_json);
  finish_downloads_.step();
  finish_downloads_.reset();
  merge_final_.bind(1, job_id).bind(2, final_json);
  merge_final_.step();
  merge_final_.reset();
}

std::vector<FollowedRow> JournalStore::followed_where(Statement& query) {
  std::vector<FollowedRow> rows;
  while (query.step()) {
    FollowedRow r;
    r.job_id = query.column_text(0);
    r.claim_id = query.column_text(1);
    r.line = static_cast<std::uint64_t>(query.column_int(2));
    r.deadline_ms = query.column_int(3);
    if (!query.column_is_null(4)) r.final_json = query.column_text(4);
    if (!query.column_is_null(5)) r.request_id = query.column_text(5);
    r.downloads_pending = query.column_int(6) != 0;
    rows.push_back(std::move(r));
  }
  query.reset();
  return rows;
}

std::vector<FollowedRow> JournalStore::followed_of_claim(const std::string& claim_id) {
  followed_of_claim_.bind(1, claim_id);
  return followed_where(followed_of_claim_);
}

std::vector<std::string> JournalStore::job_ids_of_claim(const std::string& claim_id, int status) {
  jobs_of_claim_.bind(1, claim_id).bind(2, static_cast<std::int64_t>(status));
  std::vector<std::string> ids;
  while (jobs_of_claim_.step()) ids.push_back(jobs_of_claim_.column_text(0));
  jobs_of_claim_.reset();
  return ids;
}

std::vector<FollowedRow> JournalStore::unfinished_followed(std::size_t limit) {
  unfinished_followed_.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  return followed_where(unfinished_followed_);
}

std::vector<FollowedRow> JournalStore::pending_downloads(std::size_t limit) {
  pending_downloads_.bind(1, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  return followed_where(pending_downloads_);
}

void JournalStore::forget_claim(const std::string& claim_id) {
  forget_claim_.bind(1, claim_id);
  forget_claim_.step();
  forget_claim_.reset();
  claims_with_rows_.erase(claim_id);
  forget_followed_.bind(1, claim_id);
  forget_followed_.step();
  forget_followed_.reset();
}

std::size_t JournalStore::forget_claims_except(const std::vector<std::string>& keep) {
  std::set<std::string> keep_set(keep.begin(), keep.end());
  std::vector<std::string> gone;
  Statement claims(db_.handle(), "SELECT DISTINCT claim_id FROM requests");
  while (claims.step()) {
    std::string c = claims.column_text(0);
    if (!keep_set.count(c)) gone.push_back(std::move(c));
  }
  for (const auto& c : gone) forget_claim(c);
  return gone.size();
}

std::size_t JournalStore::prune_request_ids(std::int64_t cutoff_ms) {
  prune_.bind(1, cutoff_ms);
  prune_.step();
  prune_.reset();
  return static_cast<std::size_t>(sqlite3_changes(db_.handle()));
}

std::optional<JournalStore::Lookup> JournalStore::lookup(const std::string& request_id) {
  // A given requestId's index entry names the job that holds it (a later duplicate has a row
  // of its own in requests, naming the same job); it keeps the outcome once finished.
  std::optional<Lookup> found;
  lookup_kept_.bind(1, request_id);
  if (lookup_kept_.step()) {
    found.emplace();
    found->job_id = lookup_kept_.column_text(0);
    found->finished = !lookup_kept_.column_is_null(1);
    found->status = static_cast<int>(lookup_kept_.column_int(1));
    found->outcome_line = lookup_kept_.column_text(2);
  }
  lookup_kept_.reset();
  if (found && found->finished) return found;
  // Otherwise (a generated requestId, or a released one) the request's own row while its
  // file is worked; for a kept one not finished, that row says which file it is in.
  lookup_in_work_.bind(1, request_id);
  if (lookup_in_work_.step()) {
    if (!found) {
      found.emplace();
      found->job_id = lookup_in_work_.column_text(0);
      found->finished = lookup_in_work_.column_int(1) == static_cast<int>(Step::finished);
      found->status = static_cast<int>(lookup_in_work_.column_int(2));
      found->outcome_line = lookup_in_work_.column_text(3);
    }
    if (found->job_id == lookup_in_work_.column_text(0)) found->claim_id = lookup_in_work_.column_text(4);
  }
  lookup_in_work_.reset();
  return found;
}

std::size_t JournalStore::request_rows() {
  return static_cast<std::size_t>(db_.scalar_int("SELECT count(*) FROM requests"));
}

std::size_t JournalStore::request_id_entries() {
  return static_cast<std::size_t>(db_.scalar_int("SELECT count(*) FROM request_ids"));
}

}  // namespace submitd::journal
