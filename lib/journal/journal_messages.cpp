// Role: the journal's records of JetStream messages (see JournalStore::forget_line). A
// stream is one claim with a line per message, so, unlike a file's, its records cannot wait
// for a placement to be dropped together: each message's go once its outcome is out (or, for
// a followed job, once its final record is).
#include "journal/journal_store.hpp"

#include <algorithm>

namespace submitd::journal {

void JournalStore::prepare_message_statements() {
  // Whether a line's job is followed is asked once per message: by (claim, line), not by a
  // scan of every followed job of the stream. An index only: files of format 5 without it
  // are read as before, and daemons that know nothing of it read files with it.
  // Asked first, so a second connection (lookups) that finds it writes nothing.
  if (!options_.read_only &&
      db_.scalar_int("SELECT count(*) FROM sqlite_schema WHERE type='index' AND name='followed_by_line'") == 0) {
    db_.exec("CREATE INDEX followed_by_line ON followed(claim_id, line)");
  }
  forget_line_ = Statement(db_.handle(), "DELETE FROM requests WHERE claim_id=?1 AND line=?2");
  forget_followed_line_ = Statement(db_.handle(), "DELETE FROM followed WHERE claim_id=?1 AND line=?2");
  forget_unfollowed_line_ = Statement(db_.handle(),
                                      "DELETE FROM requests WHERE claim_id=?1 AND line=?2 AND NOT EXISTS "
                                      "(SELECT 1 FROM followed f WHERE f.claim_id=?1 AND f.line=?2)");
  forget_unfollowed_ = Statement(db_.handle(),
                                 "DELETE FROM requests WHERE claim_id=?1 AND NOT EXISTS "
                                 "(SELECT 1 FROM followed f WHERE f.claim_id=?1 AND f.line=requests.line)");
  ended_messages_ = Statement(db_.handle(),
                              "SELECT f.line, f.job_id, r.outcome, f.final FROM followed f LEFT JOIN requests r "
                              "ON r.claim_id=f.claim_id AND r.line=f.line "
                              "WHERE f.claim_id=?1 AND f.final IS NOT NULL AND f.downloads=0 LIMIT ?2");
}

void JournalStore::forget_line(const std::string& claim_id, std::uint64_t line) {
  for (Statement* s : {&forget_line_, &forget_followed_line_}) {
    s->bind(1, claim_id);
    s->bind(2, static_cast<std::int64_t>(line));
    s->step();
    s->reset();
  }
}

void JournalStore::forget_unfollowed(const std::string& claim_id, std::optional<std::uint64_t> line) {
  Statement& s = line ? forget_unfollowed_line_ : forget_unfollowed_;
  s.bind(1, claim_id);
  if (line) s.bind(2, static_cast<std::int64_t>(*line));
  s.step();
  s.reset();
}

std::vector<EndedMessage> JournalStore::ended_messages(const std::string& claim_id, std::size_t limit) {
  ended_messages_.bind(1, claim_id);
  ended_messages_.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  std::vector<EndedMessage> out;
  while (ended_messages_.step()) {
    EndedMessage m;
    m.line = static_cast<std::uint64_t>(ended_messages_.column_int(0));
    m.job_id = ended_messages_.column_text(1);
    m.outcome_line = ended_messages_.column_text(2);
    m.final_json = ended_messages_.column_text(3);
    out.push_back(std::move(m));
  }
  ended_messages_.reset();
  return out;
}

}  // namespace submitd::journal
