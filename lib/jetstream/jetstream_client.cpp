// Role: cnats behind plain C++ (see jetstream_client.hpp).
#include "jetstream/jetstream_client.hpp"

#include <nats/nats.h>

#include <fmt/format.h>

#include <mutex>
#include <unordered_set>

namespace submitd::jetstream {
namespace {

std::string why(natsStatus s, jsErrCode code = static_cast<jsErrCode>(0)) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = last != nullptr && *last != '\0' ? last : natsStatus_GetText(s);
  if (code != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(code));
  return text;
}

void check(natsStatus s, std::string_view what, jsErrCode code = static_cast<jsErrCode>(0)) {
  if (s != NATS_OK) throw JetStreamError(fmt::format("{}: {}", what, why(s, code)));
}

template <class T, void (*Destroy)(T*)>
struct Owned {
  T* p = nullptr;
  ~Owned() {
    if (p != nullptr) Destroy(p);
  }
};

natsMsg* message_of(const Delivery& d) { return static_cast<natsMsg*>(d.message.get()); }

void on_publish_answer(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr*, void* closure);

}  // namespace

struct Client::Impl {
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  std::chrono::milliseconds timeout;
  // Pipelined publishes: the Nats-Msg-Ids the stream acknowledged (cnats reports on a thread
  // of its own).
  std::mutex published_mutex;
  std::unordered_set<std::string> published;
  ~Impl() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (connection != nullptr) natsConnection_Destroy(connection);
  }
};

Client::Client(const ConnectSettings& settings) : impl_(std::make_unique<Impl>()) {
  impl_->timeout = settings.timeout;
  Owned<natsOptions, natsOptions_Destroy> options;
  check(natsOptions_Create(&options.p), "NATS options");
  std::vector<const char*> urls;
  for (const auto& s : settings.servers) urls.push_back(s.c_str());
  check(natsOptions_SetServers(options.p, urls.data(), static_cast<int>(urls.size())), "NATS servers");
  check(natsOptions_SetTimeout(options.p, settings.timeout.count()), "NATS connect timeout");
  // A node that goes away is not the end: reconnect to any of the cluster, for ever.
  check(natsOptions_SetMaxReconnect(options.p, -1), "NATS reconnects");
  check(natsOptions_SetReconnectWait(options.p, 250), "NATS reconnect wait");
  if (settings.ca_file) {
    check(natsOptions_LoadCATrustedCertificates(options.p, settings.ca_file->c_str()), "intake.jetstream.ca_file");
  }
  if (settings.creds_file) {
    check(natsOptions_SetUserCredentialsFromFiles(options.p, settings.creds_file->c_str(), nullptr),
          "intake.jetstream.creds_file");
  }
  check(natsConnection_Connect(&impl_->connection, options.p), "connecting to NATS");
  jsOptions js_options;
  jsOptions_Init(&js_options);
  js_options.Wait = settings.timeout.count();
  js_options.PublishAsync.AckHandler = on_publish_answer;
  js_options.PublishAsync.AckHandlerClosure = impl_.get();
  check(natsConnection_JetStream(&impl_->js, impl_->connection, &js_options), "JetStream context");
}

Client::~Client() = default;

bool Client::ensure_stream(const StreamSetup& setup) {
  {
    Owned<jsStreamInfo, jsStreamInfo_Destroy> existing;
    if (js_GetStreamInfo(&existing.p, impl_->js, setup.name.c_str(), nullptr, nullptr) == NATS_OK) return false;
  }
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = setup.name.c_str();
  std::vector<const char*> subjects;
  for (const auto& s : setup.subjects) subjects.push_back(s.c_str());
  config.Subjects = subjects.data();
  config.SubjectsLen = static_cast<int>(subjects.size());
  config.Retention = setup.work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
  config.Storage = js_FileStorage;
  config.Replicas = setup.replicas;
  config.Duplicates = std::chrono::nanoseconds(setup.duplicate_window).count();
  Owned<jsStreamInfo, jsStreamInfo_Destroy> info;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_AddStream(&info.p, impl_->js, &config, nullptr, &code);
  if (s != NATS_OK && code != JSStreamNameExistErr) check(s, "creating stream " + setup.name, code);
  return s == NATS_OK;
}

void Client::delete_stream(const std::string& name) {
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_DeleteStream(impl_->js, name.c_str(), nullptr, &code), "deleting stream " + name, code);
}

bool Client::ensure_consumer(const ConsumerSetup& setup) {
  {
    Owned<jsConsumerInfo, jsConsumerInfo_Destroy> existing;
    if (js_GetConsumerInfo(&existing.p, impl_->js, setup.stream.c_str(), setup.durable.c_str(), nullptr, nullptr) ==
        NATS_OK) {
      return false;
    }
  }
  jsConsumerConfig config;
  jsConsumerConfig_Init(&config);
  config.Durable = setup.durable.c_str();
  config.AckPolicy = js_AckExplicit;
  config.AckWait = std::chrono::nanoseconds(setup.ack_wait).count();
  config.MaxDeliver = setup.max_deliver;
  if (!setup.filter_subject.empty()) config.FilterSubject = setup.filter_subject.c_str();
  Owned<jsConsumerInfo, jsConsumerInfo_Destroy> info;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_AddConsumer(&info.p, impl_->js, setup.stream.c_str(), &config, nullptr, &code);
  if (s != NATS_OK && code != JSConsumerNameExistErr && code != JSConsumerExistingActiveErr) {
    check(s, "creating consumer " + setup.durable, code);
  }
  return s == NATS_OK;
}

Client::ConsumerCounts Client::consumer_counts(const std::string& stream, const std::string& durable) {
  Owned<jsConsumerInfo, jsConsumerInfo_Destroy> info;
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_GetConsumerInfo(&info.p, impl_->js, stream.c_str(), durable.c_str(), nullptr, &code),
        "reading consumer " + durable, code);
  return {info.p->NumPending, static_cast<std::uint64_t>(info.p->NumAckPending),
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(info.p->Config->AckWait)),
          info.p->Config->MaxDeliver};
}

int Client::stream_replicas(const std::string& stream) {
  Owned<jsStreamInfo, jsStreamInfo_Destroy> info;
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_GetStreamInfo(&info.p, impl_->js, stream.c_str(), nullptr, &code), "reading stream " + stream, code);
  return info.p->Config->Replicas;
}

std::int64_t Client::stream_created(const std::string& stream) {
  Owned<jsStreamInfo, jsStreamInfo_Destroy> info;
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_GetStreamInfo(&info.p, impl_->js, stream.c_str(), nullptr, &code), "reading stream " + stream, code);
  return info.p->Created;
}

PublishAck Client::publish(const std::string& subject, std::string_view data, const std::string& msg_id) {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  if (!msg_id.empty()) options.MsgId = msg_id.c_str();
  Owned<jsPubAck, jsPubAck_Destroy> ack;
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_Publish(&ack.p, impl_->js, subject.c_str(), data.data(), static_cast<int>(data.size()), &options, &code),
        "publishing to " + subject, code);
  return {ack.p->Sequence, ack.p->Duplicate};
}

namespace {

void on_publish_answer(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr*, void* closure) {
  const char* id = nullptr;
  if (ack != nullptr && natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
    auto* impl = static_cast<Client::Impl*>(closure);
    std::lock_guard lock(impl->published_mutex);
    impl->published.insert(id);
  }
  natsMsg_Destroy(msg);  // the handler owns the message it is given
}

}  // namespace

std::vector<bool> Client::publish_all(const std::vector<Outgoing>& messages) {
  {
    std::lock_guard lock(impl_->published_mutex);
    impl_->published.clear();
  }
  for (const auto& m : messages) {
    jsPubOptions options;
    jsPubOptions_Init(&options);
    options.MsgId = m.msg_id.c_str();
    // A refused send is simply not acknowledged below: the caller sends it again.
    (void)js_PublishAsync(impl_->js, m.subject.c_str(), m.data.data(), static_cast<int>(m.data.size()), &options);
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = impl_->timeout.count();
  (void)js_PublishAsyncComplete(impl_->js, &wait);  // a timeout leaves some unacknowledged
  std::vector<bool> stored;
  stored.reserve(messages.size());
  std::lock_guard lock(impl_->published_mutex);
  for (const auto& m : messages) stored.push_back(impl_->published.count(m.msg_id) > 0);
  return stored;
}

struct PullConsumer::Sub {
  natsSubscription* subscription = nullptr;
  ~Sub() {
    if (subscription != nullptr) natsSubscription_Destroy(subscription);
  }
};

PullConsumer::PullConsumer(Client& client, const std::string& stream, const std::string& durable,
                           const std::string& subject)
    : sub_(std::make_unique<Sub>()) {
  jsSubOptions options;
  jsSubOptions_Init(&options);
  options.Stream = stream.c_str();
  options.Consumer = durable.c_str();  // bind to the existing durable: never create one here
  jsErrCode code = static_cast<jsErrCode>(0);
  check(js_PullSubscribe(&sub_->subscription, client.impl().js, subject.empty() ? nullptr : subject.c_str(),
                         durable.c_str(), nullptr, &options, &code),
        "binding to consumer " + durable, code);
}

PullConsumer::~PullConsumer() = default;

std::vector<Delivery> PullConsumer::fetch(int batch, std::chrono::milliseconds wait) {
  natsMsgList list{nullptr, 0};
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = natsSubscription_Fetch(&list, sub_->subscription, batch, wait.count(), &code);
  std::vector<Delivery> out;
  if (s == NATS_TIMEOUT) return out;  // nothing came within `wait`
  check(s, "fetching", code);
  out.reserve(static_cast<std::size_t>(list.Count));
  for (int i = 0; i < list.Count; ++i) {
    natsMsg* msg = list.Msgs[i];
    list.Msgs[i] = nullptr;  // owned by the Delivery from here on
    Delivery d;
    d.message = std::shared_ptr<void>(msg, [](void* m) { natsMsg_Destroy(static_cast<natsMsg*>(m)); });
    Owned<jsMsgMetaData, jsMsgMetaData_Destroy> meta;
    check(natsMsg_GetMetaData(&meta.p, msg), "reading a message's metadata");
    d.stream_sequence = meta.p->Sequence.Stream;
    d.delivered = meta.p->NumDelivered;
    d.subject = natsMsg_GetSubject(msg);
    d.data.assign(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    out.push_back(std::move(d));
  }
  natsMsgList_Destroy(&list);
  return out;
}

void PullConsumer::ack_sync(const Delivery& d) {
  jsErrCode code = static_cast<jsErrCode>(0);
  check(natsMsg_AckSync(message_of(d), nullptr, &code), fmt::format("acking message {}", d.stream_sequence), code);
}

void PullConsumer::ack(const Delivery& d) {
  check(natsMsg_Ack(message_of(d), nullptr), fmt::format("acking message {}", d.stream_sequence));
}

void PullConsumer::in_progress(const Delivery& d) {
  check(natsMsg_InProgress(message_of(d), nullptr), fmt::format("marking message {} in progress", d.stream_sequence));
}

void PullConsumer::terminate(const Delivery& d) {
  check(natsMsg_Term(message_of(d), nullptr), fmt::format("terminating message {}", d.stream_sequence));
}

void PullConsumer::nak(const Delivery& d) {
  check(natsMsg_Nak(message_of(d), nullptr), fmt::format("giving message {} back", d.stream_sequence));
}

struct KeyValue::Store {
  kvStore* kv = nullptr;
  kvWatcher* watcher = nullptr;
  ~Store() {
    if (watcher != nullptr) kvWatcher_Destroy(watcher);
    if (kv != nullptr) kvStore_Destroy(kv);
  }
};

KeyValue::KeyValue(Client& client, const std::string& bucket, std::chrono::seconds ttl, int replicas)
    : store_(std::make_unique<Store>()) {
  if (js_KeyValue(&store_->kv, client.impl().js, bucket.c_str()) == NATS_OK) return;
  kvConfig config;
  kvConfig_Init(&config);
  config.Bucket = bucket.c_str();
  config.History = 1;
  config.TTL = std::chrono::nanoseconds(ttl).count();
  config.Replicas = replicas;
  config.StorageType = js_FileStorage;
  check(js_CreateKeyValue(&store_->kv, client.impl().js, &config), "creating key-value bucket " + bucket);
  created_ = true;
}

KeyValue::~KeyValue() = default;

bool KeyValue::create(const std::string& key, std::string_view value) {
  uint64_t revision = 0;
  const natsStatus s = kvStore_Create(&revision, store_->kv, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK) return true;
  // Refused: the key exists (another writer won); anything else is trouble.
  if (get(key)) return false;
  check(s, "creating key " + key);
  return false;
}

std::optional<std::string> KeyValue::get(const std::string& key) {
  Owned<kvEntry, kvEntry_Destroy> entry;
  const natsStatus s = kvStore_Get(&entry.p, store_->kv, key.c_str());
  if (s == NATS_NOT_FOUND) return std::nullopt;
  check(s, "reading key " + key);
  return std::string(static_cast<const char*>(kvEntry_Value(entry.p)), static_cast<std::size_t>(kvEntry_ValueLen(entry.p)));
}

void KeyValue::put(const std::string& key, std::string_view value) {
  uint64_t revision = 0;
  check(kvStore_Put(&revision, store_->kv, key.c_str(), value.data(), static_cast<int>(value.size())),
        "writing key " + key);
}

void KeyValue::erase(const std::string& key) { check(kvStore_Delete(store_->kv, key.c_str()), "deleting key " + key); }

void KeyValue::watch(const std::string& keys) {
  check(kvStore_Watch(&store_->watcher, store_->kv, keys.c_str(), nullptr), "watching keys " + keys);
}

std::optional<KeyValue::Change> KeyValue::next_change(std::chrono::milliseconds timeout) {
  Owned<kvEntry, kvEntry_Destroy> entry;
  const natsStatus s = kvWatcher_Next(&entry.p, store_->watcher, timeout.count());
  if (s == NATS_TIMEOUT) return std::nullopt;
  check(s, "watching keys");
  if (entry.p == nullptr) return std::nullopt;  // the present keys have all been given
  const kvOperation op = kvEntry_Operation(entry.p);
  return Change{kvEntry_Key(entry.p), kvEntry_Created(entry.p), op == kvOp_Delete || op == kvOp_Purge};
}

}  // namespace submitd::jetstream
