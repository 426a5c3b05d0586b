// libcamera's CameraManager, one per process, and libcamera's own log routed through mjpegd's
// logger. Part of the libcamera shim (src/source/libcamera_impl.hpp).
#include "libcamera_impl.hpp"

namespace {

// libcamera aborts the process when a second CameraManager is constructed.
std::atomic<bool> manager_in_use{ false };

// libcamera's log, through mjpegd's logger. libcamera writes each message, newline included, to
// this stream from whichever of its threads logs; a thread's partial line is kept per thread.
// While --source auto probes for a camera (hold()), lines are held back: if no camera is used
// they are logged at debug level only, so a machine without a camera stays quiet; if one is,
// they are logged as they came. Never destroyed: libcamera may log until the process exits.
class LogRoute : public std::streambuf
{
public:
	void hold()
	{
		std::lock_guard<std::mutex> guard(lock_);
		holding_ = true;
	}

	// Logs the held lines at their own level (camera used) or at debug level (none).
	void release(bool camera_used)
	{
		std::vector<std::pair<int, std::string>> lines;
		unsigned dropped;
		{
			std::lock_guard<std::mutex> guard(lock_);
			holding_ = false;
			lines.swap(held_);
			dropped = dropped_;
			dropped_ = 0;
		}
		for (const auto &l : lines)
			log_msg(camera_used ? l.first : LOG_LEVEL_DEBUG, "%s", l.second.c_str());
		if (dropped)
			log_msg(camera_used ? LOG_LEVEL_NOTICE : LOG_LEVEL_DEBUG,
				"libcamera: %u more lines while looking for a camera not shown", dropped);
	}

protected:
	int overflow(int c) override
	{
		if (c != traits_type::eof()) {
			char ch = static_cast<char>(c);
			add(&ch, 1);
		}
		return traits_type::not_eof(c);
	}

	std::streamsize xsputn(const char *s, std::streamsize n) override
	{
		add(s, static_cast<size_t>(n));
		return n;
	}

private:
	static constexpr size_t kMaxHeld = 32;
	static constexpr size_t kMaxLine = 4096;

	void add(const char *s, size_t n)
	{
		thread_local std::string partial;
		for (size_t i = 0; i < n; i++) {
			if (s[i] != '\n') {
				if (partial.size() < kMaxLine)
					partial += s[i];
				continue;
			}
			line(partial);
			partial.clear();
		}
	}

	void line(const std::string &text)
	{
		char out[1024];
		int level = libcamera_log_parse(text.c_str(), out, sizeof(out));
		{
			std::lock_guard<std::mutex> guard(lock_);
			if (holding_) {
				if (held_.size() < kMaxHeld)
					held_.emplace_back(level, out);
				else
					dropped_++;
				return;
			}
		}
		log_msg(level, "%s", out);
	}

	std::mutex lock_;
	bool holding_ = false;
	std::vector<std::pair<int, std::string>> held_;
	unsigned dropped_ = 0;
};

LogRoute *log_route;

// Once per process, before libcamera's logger exists (it reads LIBCAMERA_LOG_LEVELS and
// LIBCAMERA_LOG_FILE when it is first used): the levels follow --log-level and the lines go
// through LogRoute, each unless the user set libcamera's own variable.
void log_route_start()
{
	static std::once_flag once;
	std::call_once(once, [] {
		const char *levels = getenv("LIBCAMERA_LOG_LEVELS");
		if (!levels || !*levels)
			setenv("LIBCAMERA_LOG_LEVELS", libcamera_log_levels(log_get_level()), 1);
		log_route = new LogRoute;
		const char *file = getenv("LIBCAMERA_LOG_FILE");
		if (file && *file)
			return; // the user's file (libcamera's own format), or "syslog"
		static std::ostream *stream = new std::ostream(log_route);
		logSetStream(stream, false);
	});
}

} // namespace

int manager_start(std::unique_ptr<CameraManager> *out, bool hold)
{
	bool expected = false;
	if (!manager_in_use.compare_exchange_strong(expected, true))
		return -EBUSY;
	log_route_start();
	if (hold)
		log_route->hold();
	auto cm = std::make_unique<CameraManager>();
	// The manager's thread (and the pipeline handler and IPA threads it starts) must never take
	// a process signal.
	int r = with_signals_blocked([&cm] { return cm->start(); });
	if (r < 0) {
		cm.reset();
		manager_in_use = false;
		if (hold)
			log_route->release(false);
		return r;
	}
	*out = std::move(cm);
	return 0;
}

void manager_stop(std::unique_ptr<CameraManager> &cm)
{
	if (!cm)
		return;
	cm->stop();
	cm.reset();
	manager_in_use = false;
}

void manager_log_release(bool used)
{
	log_route->release(used);
}
