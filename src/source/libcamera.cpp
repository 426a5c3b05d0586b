// libcamera shim: the only C++ in mjpegd, behind the C API in libcamera_shim.h.
//
// It owns the CameraManager, the Camera, the FrameBufferAllocator and one Request per buffer
// (cookie = buffer index). Completed requests go out through a C callback on libcamera's thread;
// the caller gives each buffer back with lcshim_requeue(), which reuses the same Request with
// ReuseBuffers (with a full-size stream: refilled, a free full-size buffer added when there is
// one; lcshim_requeue_full() gives those back), so nothing is allocated while streaming. libcamera's own log goes through
// mjpegd's logger (LogRoute, libcamera_manager.cpp, include/mjpegd/source/libcamera_log.h); the
// camera controls are libcamera_controls.cpp.
//
// Why this file is over ~700 lines: it is one object's life (select, configure one or two streams,
// allocate, start, the request cycle with its pacer for cameras that ignore FrameDurationLimits,
// stop), and each part reads the same lcshim fields under the same locking rules; split across
// files, the rules of one request's round trip would be read in three places.
//
// Every difference between libcamera releases is handled in the block of MJPEGD_LIBCAMERA_*
// definitions in libcamera_impl.hpp, each naming the release that changed the API; the rest of
// the shim is the same for every release. Built and tested (make test-platforms, docs/testing.md) against Debian
// 12's 0.0.3, Debian 13's 0.4.0, trixie-backports' 0.7.1 (the upstream release of Raspberry Pi
// OS Trixie's 0.7.1+rpt) and testing's 0.7.2.
// Used the same way by every release from 0.0.3 to 0.7: FrameBufferAllocator,
// Request::reuse(ReuseBuffers), SharedFD planes, FrameMetadata status/sequence/timestamp,
// Camera::disconnected, ControlList::get() returning std::optional (since 0.0.1),
// logSetStream()/LIBCAMERA_LOG_LEVELS/LIBCAMERA_LOG_FILE (since 0.0.1), and for --snapshot-size's
// second stream: generateConfiguration() with two roles (StillCapture, VideoRecording),
// Request::reuse() without ReuseBuffers then addBuffer() per stream, requests carrying a subset
// of the configured streams, and FrameDurationLimits in Camera::controls() narrowed to the
// sensor mode after configure() (the Pi's handlers; vimc and uvcvideo do not list it).
#include "libcamera_impl.hpp"

namespace {

struct FormatMapping {
	uint32_t v4l2;
	PixelFormat libcamera;
};

// libcamera names formats after DRM: RGB888 is stored B, G, R in memory, which V4L2 calls BGR24.
const FormatMapping format_mappings[] = {
	{ V4L2_PIX_FMT_YUV420, formats::YUV420 },
	{ V4L2_PIX_FMT_YUYV, formats::YUYV },
	{ V4L2_PIX_FMT_NV12, formats::NV12 },
	{ V4L2_PIX_FMT_MJPEG, formats::MJPEG },
	{ V4L2_PIX_FMT_BGR24, formats::RGB888 },
	{ V4L2_PIX_FMT_RGB24, formats::BGR888 },
};

// When the caller passes no list: what the software encoder takes best first.
const uint32_t default_formats[] = {
	V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_BGR24, V4L2_PIX_FMT_RGB24,
};

PixelFormat to_libcamera(uint32_t v4l2)
{
	for (const auto &m : format_mappings)
		if (m.v4l2 == v4l2)
			return m.libcamera;
	return PixelFormat();
}

uint32_t to_v4l2(const PixelFormat &f)
{
	for (const auto &m : format_mappings)
		if (m.libcamera == f)
			return m.v4l2;
	return 0;
}

std::string camera_model(const Camera &cam)
{
	const std::optional<ControlString> model = cam.properties().get(properties::Model);
	return model ? std::string(*model) : std::string("unknown");
}

bool camera_is_external(const Camera &cam)
{
	const auto location = cam.properties().get(properties::Location);
	return location && *location == properties::CameraLocationExternal;
}

bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

} // namespace

// On libcamera's thread.
void lcshim::request_completed(Request *request)
{
	if (stopping.load(std::memory_order_acquire))
		return;
	lcshim_completion c{};
	c.buffer = static_cast<unsigned>(request->cookie());
	if (request->status() == Request::RequestCancelled) {
		c.status = -ECANCELED;
	} else {
		FrameBuffer *fb = request->findBuffer(stream);
		if (!fb) {
			c.status = -EIO;
		} else {
			const FrameMetadata &md = fb->metadata();
			c.status = md.status == FrameMetadata::FrameSuccess ? 0 : -EIO;
			c.sequence = md.sequence;
			c.timestamp_ns = md.timestamp;
			unsigned i = 0;
			for (const auto &plane : md.planes()) {
				if (i == LCSHIM_MAX_PLANES)
					break;
				c.bytesused[i++] = plane.bytesused;
			}
		}
	}
	c.full_buffer = -1;
	FrameBuffer *ff = full_stream ? request->findBuffer(full_stream) : nullptr;
	if (ff) {
		auto it = std::find(full_fbs.begin(), full_fbs.end(), ff);
		c.full_buffer = static_cast<int>(it - full_fbs.begin());
		const FrameMetadata &md = ff->metadata();
		c.full_status = request->status() == Request::RequestCancelled ||
						md.status != FrameMetadata::FrameSuccess
					? -EIO
					: 0;
		unsigned i = 0;
		for (const auto &plane : md.planes()) {
			if (i == LCSHIM_MAX_PLANES)
				break;
			c.full_bytesused[i++] = plane.bytesused;
		}
	}
	if (c.status == 0) {
		note_metadata(request->metadata());
		bool now_on;
		{
			std::lock_guard<std::mutex> guard(pace_lock);
			now_on = libcamera_pace_note(&pace, c.timestamp_ns);
		}
		if (now_on)
			log_obj_info(log_prefix, "frames come faster than FrameDurationLimits asks (%u "
				     "intervals under half of %llu us): mjpegd paces its requests to "
				     "--fps", LIBCAMERA_PACE_FAST,
				     static_cast<unsigned long long>(pace.frame_ns / 1000));
	}
	cb.completed(cb.ctx, &c);
}

static uint64_t steady_ns()
{
	return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
					     std::chrono::steady_clock::now().time_since_epoch())
					     .count());
}

// The pacer thread: queues each held request at its due time.
void lcshim::pacer_run()
{
	std::unique_lock<std::mutex> lock(pacer_lock);
	for (;;) {
		if (pacer_quit)
			return;
		if (held.empty()) {
			pacer_wake.wait(lock);
			continue;
		}
		const uint64_t due = held.front().first;
		if (steady_ns() < due) {
			pacer_wake.wait_until(lock, std::chrono::steady_clock::time_point(
							    std::chrono::nanoseconds(due)));
			continue;
		}
		Request *request = held.front().second;
		held.pop_front();
		lock.unlock();
		int r = camera->queueRequest(request);
		if (r < 0)
			log_obj_err_errno(log_prefix, r, "queueing a paced request");
		lock.lock();
	}
}

// On the loop thread: request now, or to the pacer for its slot.
int lcshim::queue_paced(Request *request)
{
	uint64_t now = steady_ns(), due;
	{
		std::lock_guard<std::mutex> guard(pace_lock);
		due = libcamera_pace_due(&pace, now);
	}
	if (due <= now)
		return camera->queueRequest(request);
	if (!pacer.joinable()) {
		try {
			with_signals_blocked([this] { pacer = std::thread(&lcshim::pacer_run, this); });
		} catch (const std::system_error &) {
			return camera->queueRequest(request); // unpaced, as before
		}
	}
	std::lock_guard<std::mutex> guard(pacer_lock);
	held.emplace_back(due, request);
	pacer_wake.notify_one();
	return 0;
}

// Before Camera::stop(): held requests are never queued (nor completed: they are not the
// camera's); the pacer is not inside queueRequest() once joined.
void lcshim::pacer_stop()
{
	{
		std::lock_guard<std::mutex> guard(pacer_lock);
		pacer_quit = true;
		held.clear();
	}
	pacer_wake.notify_one();
	if (pacer.joinable())
		pacer.join();
}

// On libcamera's thread.
void lcshim::note_metadata(const ControlList &metadata)
{
	const ControlInfoMap &offered = camera->controls();
	std::lock_guard<std::mutex> guard(reported_lock);
	completed++;
	for (const auto &[id, value] : metadata) {
		auto info = offered.find(id);
		if (info == offered.end() || value.type() != info->second.min().type())
			continue;
		unsigned n = control_floats_count(info->first);
		if (value.isArray() != (n > 0) || (n && value.numElements() != n))
			continue; // an array only where mjpegd offers one, and whole
		auto hold = reported_hold.find(id);
		if (hold != reported_hold.end()) {
			if (completed <= hold->second)
				continue;
			reported_hold.erase(hold);
		}
		reported[id] = value;
	}
}

// On libcamera's thread.
void lcshim::camera_disconnected()
{
	if (cb.disconnected)
		cb.disconnected(cb.ctx);
}

int lcshim::select_camera(const lcshim_params *p)
{
	std::vector<std::shared_ptr<Camera>> cams = manager->cameras();
	if (cams.empty())
		return -ENODEV;

	const char *sel = p->camera && p->camera[0] ? p->camera : nullptr;
	if (!sel) {
		for (const auto &c : cams) {
			if (p->skip_external && camera_is_external(*c))
				continue;
			camera = c;
			return 0;
		}
		return -ENODEV; // only webcams, which the V4L2 source serves
	}
	if (all_digits(sel)) {
		unsigned long index = strtoul(sel, nullptr, 10);
		if (index < cams.size()) {
			camera = cams[index];
			return 0;
		}
	} else {
		camera = manager->get(sel);
		if (camera)
			return 0;
	}
	std::string known;
	for (size_t i = 0; i < cams.size(); i++)
		known += (i ? ", " : "") + std::to_string(i) + ": " + cams[i]->id();
	log_obj_err(log_prefix, "no camera '%s' (cameras: %s; mjpegd --list-devices lists them)",
		    sel, known.c_str());
	return -ENOENT;
}

// --snapshot-size: two streams when the camera gives them (libcamera_plan_streams()), else the
// stream alone with full_refused saying why (the source warns, snapshots keep the stream's size).
int lcshim::configure(const lcshim_params *p, lcshim_stream *info)
{
	if (p->full_width && p->full_height && p->full_buffers) {
		char why[sizeof(info->full_refused)];
		int r = libcamera_plan_streams(p->width, p->height, p->full_width, p->full_height, why,
					       sizeof(why));
		if (r == 0)
			r = configure_streams(p, info, true);
		else
			copy_string(info->full_refused, sizeof(info->full_refused), why);
		if (r != -EXDEV && !info->full_refused[0])
			return r;
		// the source warns, naming full_refused
	}
	return configure_streams(p, info, false);
}

// Two streams (two): the full size first (role StillCapture), the stream's second (role
// VideoRecording), in one format; every release from 0.0.3 to 0.7 generates both roles on the
// Pi's handlers (VC4: main and low-res outputs; PiSP: output 0 and 1), while vimc and uvcvideo
// generate (or validate() keeps) one configuration: -EXDEV then, info->full_refused set.
int lcshim::configure_streams(const lcshim_params *p, lcshim_stream *info, bool two)
{
	auto refuse = [&](const char *why) {
		copy_string(info->full_refused, sizeof(info->full_refused), why);
		config.reset();
		return -EXDEV;
	};
	// A vector: StreamRoles up to 0.0.x is one, Span<const StreamRole> from 0.1 takes one.
	const std::vector<StreamRole> roles =
		two ? std::vector<StreamRole>{ StreamRole::StillCapture, StreamRole::VideoRecording }
		    : std::vector<StreamRole>{ StreamRole::VideoRecording };
	config = camera->generateConfiguration(roles);
	if (two && (!config || config->size() != 2))
		return refuse("the camera gives one stream");
	if (!config || config->size() != roles.size()) {
		return log_obj_err_errno(log_prefix, -EINVAL, "no configuration for video recording");
	}
	// validate() may drop the second configuration (it keeps the first): sc is looked at only
	// while config->size() is what was asked
	StreamConfiguration &sc = config->at(two ? 1 : 0);

	const uint32_t *prefs = p->formats;
	unsigned n_prefs = p->n_formats;
	if (!prefs || !n_prefs) {
		prefs = default_formats;
		n_prefs = sizeof(default_formats) / sizeof(default_formats[0]);
	}
	std::vector<PixelFormat> offered = sc.formats().pixelformats();
	PixelFormat chosen;
	for (unsigned i = 0; i < n_prefs && !chosen.isValid(); i++) {
		PixelFormat f = to_libcamera(prefs[i]);
		for (const auto &o : offered)
			if (f.isValid() && o == f)
				chosen = f;
	}
	if (!chosen.isValid()) {
		std::string names;
		for (const auto &o : offered)
			names += (names.empty() ? "" : ", ") + o.toString();
		return log_obj_err_errno(log_prefix, -EINVAL, "offers none of the formats the "
					 "encoder takes (it offers: %s)", names.c_str());
	}

	sc.pixelFormat = chosen;
	sc.size = Size(p->width, p->height);
	sc.bufferCount = p->buffers;
	// JPEG decoders read YCbCr as full-range BT.601 (JFIF); the video default (Rec.709,
	// limited range) would look washed out. The Pi's ISP can output either.
	if (chosen == formats::YUV420 || chosen == formats::YUYV || chosen == formats::NV12)
		sc.colorSpace = ColorSpace::Sycc;
	if (two) {
		StreamConfiguration &mc = config->at(0);
		mc.pixelFormat = chosen;
		mc.size = Size(p->full_width, p->full_height);
		mc.bufferCount = p->full_buffers;
		mc.colorSpace = sc.colorSpace;
	}

	Transform transform = Transform::Identity;
	if (p->rotation == 180)
		transform = Transform::Rot180;
	if (p->hflip)
		transform = transform ^ Transform::HFlip;
	if (p->vflip)
		transform = transform ^ Transform::VFlip;
#ifdef MJPEGD_LIBCAMERA_HAS_ORIENTATION
	const Orientation wanted = Orientation::Rotate0 * transform;
	config->orientation = wanted;
#else
	config->transform = transform;
#endif

	CameraConfiguration::Status status = config->validate();
	// Padded rows asked for and fewer granted (libcamera 0.0.3's vimc handler gives multiples of
	// 6 rows: 1086 for 1088): ask for a few more, in steps of what was missing, for a buffer that
	// holds the encoder's rows (1092): a packed format imports from a taller buffer.
	if (two) {
		if (status == CameraConfiguration::Invalid)
			return refuse("the camera refuses the two streams");
		char why[sizeof(info->full_refused)];
		const unsigned n = static_cast<unsigned>(config->size());
		const StreamConfiguration &mc = config->at(0);
		const StreamConfiguration *second = n >= 2 ? &config->at(1) : nullptr;
		if (!libcamera_streams_granted(n, to_v4l2(chosen), p->width, p->height,
					       to_v4l2(mc.pixelFormat), mc.size.width, mc.size.height,
					       second ? to_v4l2(second->pixelFormat) : 0,
					       second ? second->size.width : 0,
					       second ? second->size.height : 0, why, sizeof(why)))
			return refuse(why);
		if (mc.bufferCount > LCSHIM_MAX_BUFFERS) {
			return log_obj_err_errno(log_prefix, -EINVAL, "wants %u full-size buffers, "
						 "mjpegd handles at most %d", mc.bufferCount,
						 LCSHIM_MAX_BUFFERS);
		}
	} else if (status == CameraConfiguration::Adjusted && p->picture_height &&
	    p->picture_height < p->height && sc.size.width == p->width &&
	    sc.size.height < p->height && sc.size.height >= p->picture_height) {
		const Size first = sc.size;
		const unsigned step = p->height - first.height;
		bool taller = false;
		for (unsigned k = 1; k <= 8 && !taller; k++) {
			sc.size = Size(p->width, p->height + k * step);
			status = config->validate();
			taller = status != CameraConfiguration::Invalid && sc.size.width == p->width &&
				 sc.size.height >= p->height;
		}
		if (!taller) {
			sc.size = first;
			status = config->validate();
		}
	}
	if (status == CameraConfiguration::Invalid) {
		return log_obj_err_errno(log_prefix, -EINVAL, "refuses %ux%u %s", p->width,
					 p->height, chosen.toString().c_str());
	}
	if (sc.pixelFormat != chosen) {
		// validate() may swap the format; only accept it when we can still handle it.
		if (!to_v4l2(sc.pixelFormat)) {
			return log_obj_err_errno(log_prefix, -EINVAL, "changed the format to %s, "
						 "which mjpegd does not take",
						 sc.pixelFormat.toString().c_str());
		}
	}
	if (sc.size != Size(p->width, p->height))
		log_obj_warn(log_prefix, "%ux%u is not available, using %s", p->width, p->height,
			     sc.size.toString().c_str());
#ifdef MJPEGD_LIBCAMERA_HAS_ORIENTATION
	info->transform_applied = config->orientation == wanted;
#else
	info->transform_applied = config->transform == transform;
#endif
	if (!info->transform_applied)
		log_obj_warn(log_prefix, "cannot rotate/flip as asked (rotation %u%s%s); the camera "
			     "does not transform its images", p->rotation, p->hflip ? ", hflip" : "",
			     p->vflip ? ", vflip" : "");
	if (sc.bufferCount > LCSHIM_MAX_BUFFERS) {
		return log_obj_err_errno(log_prefix, -EINVAL, "wants %u buffers, mjpegd handles at "
					 "most %d", sc.bufferCount, LCSHIM_MAX_BUFFERS);
	}

	int r = camera->configure(config.get());
	if (r < 0)
		return log_obj_err_errno(log_prefix, r, "configuring %s", sc.toString().c_str());
	stream = sc.stream();
	info->fourcc = to_v4l2(sc.pixelFormat);
	info->width = sc.size.width;
	info->height = sc.size.height;
	info->stride = sc.stride;
	if (two) {
		const StreamConfiguration &mc = config->at(0);
		full_stream = mc.stream();
		info->full_width = mc.size.width;
		info->full_height = mc.size.height;
		info->full_stride = mc.stride;
	}
	// The sensor mode configure() chose bounds the frame rate (a full-size stream may need a
	// slower mode): the Pi's handlers narrow FrameDurationLimits to it.
	auto fdl = camera->controls().find(&controls::FrameDurationLimits);
	if (fdl != camera->controls().end() && fdl->second.min().type() == ControlTypeInteger64) {
		const int64_t min_us = fdl->second.min().get<int64_t>();
		if (min_us > 0)
			info->max_fps = static_cast<unsigned>((1000000 + min_us / 2) / min_us);
	}
	return 0;
}

// Asked for more rows than the picture (libcamera_rows()): a ScalerCrop of the padded output's
// aspect, so that the ISP scales both axes alike and the rows the encoder leaves out are below
// the picture (libcamera_padded_crop()). A camera without ScalerCrop (vimc) scales its default
// crop into the padded rows: the picture is then taller by rows/picture_height (0.74 % at 1080).
void lcshim::set_padded_crop(const lcshim_params *p, lcshim_stream *info)
{
	const ControlInfoMap &available = camera->controls();
	auto it = available.find(&controls::ScalerCrop);
	if (!p->picture_height || p->picture_height >= info->height || it == available.end() ||
	    it->second.max().type() != ControlTypeRectangle)
		return;
	const Rectangle max = it->second.max().get<Rectangle>();
	const Rectangle def = it->second.def().type() == ControlTypeRectangle &&
					      !it->second.def().get<Rectangle>().isNull()
				      ? it->second.def().get<Rectangle>()
				      : max;
	libcamera_rect out;
	if (libcamera_padded_crop({ def.x, def.y, def.width, def.height },
				  { max.x, max.y, max.width, max.height }, info->width, info->height,
				  p->picture_height, &out) < 0)
		return;
	start_controls.set(controls::ScalerCrop, Rectangle(out.x, out.y, out.width, out.height));
	info->padded_crop_set = true;
	log_obj_info(log_prefix, "ScalerCrop %s for %ux%u of which %u rows are the picture",
		 Rectangle(out.x, out.y, out.width, out.height).toString().c_str(),
		 info->width, info->height, p->picture_height);
}

void lcshim::set_start_controls(const lcshim_params *p, lcshim_stream *info)
{
	const ControlInfoMap &available = camera->controls();
	if (p->fps && available.count(&controls::FrameDurationLimits)) {
		const int64_t frame_us = 1000000 / p->fps;
		const int64_t limits[2] = { frame_us, frame_us };
		start_controls.set(controls::FrameDurationLimits, Span<const int64_t, 2>(limits));
		info->frame_duration_set = true;
		pace.frame_ns = static_cast<uint64_t>(frame_us) * 1000; // watched: lcshim_requeue
	}
	set_padded_crop(p, info);
#ifdef MJPEGD_LIBCAMERA_HAS_AF
	auto af = available.find(&controls::AfMode);
	if (af != available.end()) {
		for (const ControlValue &v : af->second.values()) {
			if (v.get<int32_t>() == controls::AfModeContinuous) {
				start_controls.set(controls::AfMode, controls::AfModeContinuous);
				info->autofocus = true;
				break;
			}
		}
	}
#endif
}

// Allocates st's buffers and describes them into out (up to LCSHIM_MAX_BUFFERS); fbs gets them.
static int allocate_stream(FrameBufferAllocator &allocator, Stream *st, const char *log_prefix,
			   lcshim_buffer *out, std::vector<FrameBuffer *> *fbs)
{
	int r = allocator.allocate(st);
	if (r < 0)
		return log_obj_err_errno(log_prefix, r, "allocating buffers");
	const auto &buffers = allocator.buffers(st);
	if (buffers.empty() || buffers.size() > LCSHIM_MAX_BUFFERS) {
		return log_obj_err_errno(log_prefix, -ENOBUFS, "got %zu buffers (1..%d)",
					 buffers.size(), LCSHIM_MAX_BUFFERS);
	}
	for (size_t i = 0; i < buffers.size(); i++) {
		FrameBuffer *fb = buffers[i].get();
		const auto &planes = fb->planes();
		if (planes.empty() || planes.size() > LCSHIM_MAX_PLANES) {
			return log_obj_err_errno(log_prefix, -EINVAL, "a buffer with %zu planes (1..%d)",
						 planes.size(), LCSHIM_MAX_PLANES);
		}
		lcshim_buffer *b = &out[i];
		b->n_planes = static_cast<unsigned>(planes.size());
		for (size_t j = 0; j < planes.size(); j++) {
			b->planes[j].fd = planes[j].fd.get();
			b->planes[j].offset = planes[j].offset == FrameBuffer::Plane::kInvalidOffset
						      ? 0
						      : planes[j].offset;
			b->planes[j].length = planes[j].length;
		}
		fbs->push_back(fb);
	}
	return 0;
}

int lcshim::allocate(lcshim_stream *info)
{
	allocator = std::make_unique<FrameBufferAllocator>(camera);
	int r = allocate_stream(*allocator, stream, log_prefix, info->buffers, &stream_fbs);
	if (r < 0)
		return r;
	if (full_stream) {
		r = allocate_stream(*allocator, full_stream, log_prefix, info->full_buffers,
				    &full_fbs);
		if (r < 0)
			return r;
		info->n_full_buffers = static_cast<unsigned>(full_fbs.size());
		for (unsigned i = info->n_full_buffers; i-- > 0;)
			free_full.push_back(i);
	}
	for (size_t i = 0; i < stream_fbs.size(); i++) {
		FrameBuffer *fb = stream_fbs[i];
		std::unique_ptr<Request> request = camera->createRequest(i);
		if (!request)
			return log_obj_err_errno(log_prefix, -ENOMEM, "creating a request");
		r = request->addBuffer(stream, fb);
		if (r < 0)
			return log_obj_err_errno(log_prefix, r, "adding a buffer to a request");
		requests.push_back(std::move(request));
		if (full_stream) {
			std::unique_ptr<Request> spare = camera->createRequest(i);
			if (!spare)
				return log_obj_err_errno(log_prefix, -ENOMEM, "creating a request");
			spare_requests.push_back(std::move(spare));
		}
	}
	info->n_buffers = static_cast<unsigned>(stream_fbs.size());
	return 0;
}

// A free full-size buffer into request (which carries the stream's), when there is one.
void lcshim::attach_full(Request *request)
{
	if (!full_stream || free_full.empty())
		return;
	const unsigned b = free_full.back();
	if (request->addBuffer(full_stream, full_fbs[b]) == 0)
		free_full.pop_back();
}

extern "C" int lcshim_open(const lcshim_params *p, const lcshim_callbacks *cb, lcshim **out,
			   lcshim_stream *info)
{
	if (!p || !cb || !cb->completed || !out || !info || p->buffers < 1 ||
	    p->buffers > LCSHIM_MAX_BUFFERS || (p->rotation != 0 && p->rotation != 180) ||
	    !p->width || !p->height || p->full_buffers > LCSHIM_MAX_BUFFERS)
		return -EINVAL;
	*info = lcshim_stream{};

	auto s = std::make_unique<lcshim>();
	s->cb = *cb;
	int r = manager_start(&s->manager, p->skip_external);
	if (r == -EBUSY)
		return log_obj_err_errno(s->log_prefix, r, "only one camera manager per process, and "
					 "one is in use");
	if (r < 0)
		return log_obj_err_errno(s->log_prefix, r, "starting the camera manager");
	r = s->select_camera(p);
	if (p->skip_external)
		manager_log_release(r >= 0);
	if (r < 0) {
		lcshim_close(s.release());
		return r;
	}
	copy_string(info->camera_id, sizeof(info->camera_id), s->camera->id());
	snprintf(s->log_prefix, sizeof(s->log_prefix), "libcamera: %s", s->camera->id().c_str());
	copy_string(info->model, sizeof(info->model), camera_model(*s->camera));

	r = s->camera->acquire();
	if (r < 0) {
		log_obj_err_errno(s->log_prefix, r, "in use by another process");
		lcshim_close(s.release());
		return r == -EBUSY ? -EBUSY : r;
	}
	s->acquired = true;
	s->camera->requestCompleted.connect(s.get(), &lcshim::request_completed);
	s->camera->disconnected.connect(s.get(), &lcshim::camera_disconnected);

	r = s->configure(p, info);
	if (r >= 0)
		r = s->allocate(info);
	if (r < 0) {
		lcshim_close(s.release());
		return r;
	}
	s->set_start_controls(p, info);
	*out = s.release();
	return 0;
}

extern "C" int lcshim_start(lcshim *s)
{
	int r = s->camera->start(&s->start_controls);
	if (r < 0)
		return log_obj_err_errno(s->log_prefix, r, "starting");
	s->started = true;
	for (auto &request : s->requests) {
		s->attach_full(request.get());
		r = s->camera->queueRequest(request.get());
		if (r < 0)
			return log_obj_err_errno(s->log_prefix, r, "queueing a request");
	}
	return 0;
}

extern "C" int lcshim_requeue(lcshim *s, unsigned buffer)
{
	if (buffer >= s->requests.size())
		return -EINVAL;
	Request *request = s->requests[buffer].get();
	if (s->full_stream) {
		// Its full-size buffer (if any) went to the caller with the completion: the buffer's
		// other request (see spare_requests) is filled anew, with a full-size one only when one
		// is free; the one just completed stays as it is until the next time round.
		std::swap(s->requests[buffer], s->spare_requests[buffer]);
		request = s->requests[buffer].get();
		request->reuse();
		int r = request->addBuffer(s->stream, s->stream_fbs[buffer]);
		if (r < 0)
			return r;
		s->attach_full(request);
	} else {
		request->reuse(Request::ReuseBuffers);
	}
	if (!s->pending_controls.empty()) {
		for (const auto &[id, value] : s->pending_controls)
			request->controls().set(id, value);
		s->pending_controls.clear();
	}
	return s->queue_paced(request);
}

extern "C" int lcshim_requeue_full(lcshim *s, unsigned buffer)
{
	if (buffer >= s->full_fbs.size() ||
	    std::find(s->free_full.begin(), s->free_full.end(), buffer) != s->free_full.end())
		return -EINVAL;
	s->free_full.push_back(buffer);
	return 0;
}

extern "C" void lcshim_close(lcshim *s)
{
	if (!s)
		return;
	if (s->camera) {
		s->pacer_stop();
		if (s->started) {
			s->stopping.store(true, std::memory_order_release);
			s->camera->stop();
		}
		// Disconnected before the requests and buffers go, so no late signal finds them.
		s->camera->requestCompleted.disconnect(s);
		s->camera->disconnected.disconnect(s);
	}
	s->requests.clear();
	s->spare_requests.clear();
	s->allocator.reset();
	if (s->acquired)
		s->camera->release();
	s->config.reset();
	s->camera.reset();
	manager_stop(s->manager);
	delete s;
}

extern "C" int lcshim_list(lcshim_camera *cams, unsigned max)
{
	std::unique_ptr<CameraManager> cm;
	int r = manager_start(&cm, false);
	if (r < 0)
		return r;
	std::vector<std::shared_ptr<Camera>> all = cm->cameras();
	for (size_t i = 0; i < all.size() && i < max; i++) {
		copy_string(cams[i].id, sizeof(cams[i].id), all[i]->id());
		copy_string(cams[i].model, sizeof(cams[i].model), camera_model(*all[i]));
		cams[i].external = camera_is_external(*all[i]);
	}
	int n = static_cast<int>(all.size());
	all.clear(); // the cameras must go before their manager
	manager_stop(cm);
	return n > 0 ? n : -ENODEV;
}

extern "C" const char *lcshim_version(void)
{
	return CameraManager::version().c_str();
}
