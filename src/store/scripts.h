// The transition scripts, one per .lua file in lua/, each with lib.lua
// (fencing check, Redis time) prepended. The comment at the top of each file
// is its contract: keys, arguments, replies.
#pragma once

#include "redis/script.h"

namespace steadfast::store::scripts {

const redis::Script& submit();
const redis::Script& start();
const redis::Script& claim();
const redis::Script& complete();
const redis::Script& retry();
const redis::Script& dead_letter();
const redis::Script& drop();
const redis::Script& cancel();
const redis::Script& renew();
const redis::Script& reclaim();
const redis::Script& promote();
const redis::Script& replay();
const redis::Script& check_run();
const redis::Script& config();
const redis::Script& due();
const redis::Script& duty();
const redis::Script& limit_acquire();
const redis::Script& limit_release();
const redis::Script& limit_pause();
const redis::Script& limit_renew();
const redis::Script& limit_wait();
const redis::Script& repair();
const redis::Script& purge();
const redis::Script& expire();
const redis::Script& series_sample();
const redis::Script& rerun();
const redis::Script& bulk_create();
const redis::Script& bulk_claim();
const redis::Script& bulk_progress();
const redis::Script& bulk_stop();
const redis::Script& sleep();
const redis::Script& deadline();
const redis::Script& schedule_tick();
const redis::Script& schedule_pause();
const redis::Script& schedule_publish();
const redis::Script& signal();
const redis::Script& spawn();
const redis::Script& feed();
const redis::Script& handover();

}  // namespace steadfast::store::scripts
