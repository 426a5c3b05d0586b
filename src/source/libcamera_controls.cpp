// Camera controls (include/mjpegd/control.h) over libcamera's ControlInfo and ControlList:
// listing them with their limits and current values, setting them on the next request. Part of
// the libcamera shim (src/source/libcamera_impl.hpp).
#include "libcamera_impl.hpp"

static void to_value(const ControlValue &v, enum control_type t, struct control_value *out)
{
	*out = control_value{};
	out->type = t;
	if (v.isArray()) {
		if (t != CONTROL_FLOATS || v.type() != ControlTypeFloat)
			return;
		Span<const float> a = v.get<Span<const float>>();
		for (size_t i = 0; i < a.size() && i < CONTROL_FLOATS_MAX; i++)
			out->fs.v[out->fs.n++] = a[i];
		return;
	}
	switch (v.type()) {
	case ControlTypeBool:
		out->b = v.get<bool>();
		break;
	case ControlTypeInteger32:
		out->i = v.get<int32_t>();
		break;
	case ControlTypeInteger64:
		out->i = v.get<int64_t>();
		break;
	case ControlTypeFloat:
		out->f = v.get<float>();
		break;
	case ControlTypeRectangle: {
		Rectangle r = v.get<Rectangle>();
		out->r = control_rect{ r.x, r.y, r.width, r.height };
		break;
	}
	default:
		break;
	}
}

// Does the control take an array (see the version block at the top)?
static bool control_is_array(const ControlId *id)
{
#ifdef MJPEGD_LIBCAMERA_HAS_CONTROL_IS_ARRAY
	return id->isArray();
#else
	for (const ControlId *a : { static_cast<const ControlId *>(&controls::ColourGains),
				    static_cast<const ControlId *>(&controls::SensorBlackLevels),
				    static_cast<const ControlId *>(&controls::ColourCorrectionMatrix),
				    static_cast<const ControlId *>(&controls::FrameDurationLimits),
				    static_cast<const ControlId *>(&controls::AfWindows) })
		if (a->id() == id->id())
			return true;
	return false;
#endif
}

// How many floats an array control offered as CONTROL_FLOATS takes (ColourGains: 2), or 0 for
// any other control (not an array, not of floats, of a size not fixed or above
// CONTROL_FLOATS_MAX).
unsigned control_floats_count(const ControlId *id)
{
	if (!control_is_array(id) || id->type() != ControlTypeFloat)
		return 0;
#ifdef MJPEGD_LIBCAMERA_HAS_CONTROL_IS_ARRAY
	size_t n = id->size();
#else
	size_t n = id->id() == controls::ColourGains.id() ? 2 : 0;
#endif
	return n >= 2 && n <= CONTROL_FLOATS_MAX ? static_cast<unsigned>(n) : 0;
}

// A float limit of a FLOATS control: a scalar, or an array's first element (pipeline handlers
// give either); false for anything else.
static bool float_limit(const ControlValue &v, double *out)
{
	if (v.type() != ControlTypeFloat)
		return false;
	if (!v.isArray()) {
		*out = v.get<float>();
		return true;
	}
	Span<const float> a = v.get<Span<const float>>();
	if (a.empty())
		return false;
	*out = a[0];
	return true;
}

// The FLOATS part of describe_control(): the type, the limits and a default.
static bool describe_floats(const ControlInfo &info, unsigned n, control_desc *d)
{
	double lo, hi;
	if (!float_limit(info.min(), &lo) || !float_limit(info.max(), &hi) || lo > hi)
		return false;
	d->type = CONTROL_FLOATS;
	d->count = n;
	d->min = control_value{};
	d->min.type = CONTROL_FLOAT;
	d->min.f = lo;
	d->max = control_value{};
	d->max.type = CONTROL_FLOAT;
	d->max.f = hi;
	// No default of its own (the Pi's ColourGains has none: white balance chooses): 1 each
	// (no change) when in range, else the minimum.
	d->def = control_value{};
	d->def.type = CONTROL_FLOATS;
	d->def.fs.n = n;
	double one = 1.0 >= lo && 1.0 <= hi ? 1.0 : lo, def1;
	const ControlValue &def = info.def();
	bool whole = def.type() == ControlTypeFloat && def.isArray() && def.numElements() == n;
	for (unsigned i = 0; i < n; i++)
		d->def.fs.v[i] = whole ? def.get<Span<const float>>()[i]
				       : float_limit(def, &def1) ? def1 : one;
	return true;
}

static bool describe_control(const ControlId *id, const ControlInfo &info, control_desc *d)
{
	*d = control_desc{};
	snprintf(d->name, sizeof(d->name), "%s", id->name().c_str());
	d->id = id->id();
	d->backend_type = id->type();
	d->step = 1;
	if (unsigned n = control_floats_count(id))
		return describe_floats(info, n, d); // ColourGains
	if (control_is_array(id) || info.min().isArray() || info.max().isArray() ||
	    info.min().type() == ControlTypeNone)
		return false; // FrameDurationLimits...: other arrays are not offered (docs)
	switch (id->type()) {
	case ControlTypeBool:
		d->type = CONTROL_BOOLEAN;
		break;
	case ControlTypeInteger32:
		d->type = info.values().empty() ? CONTROL_INTEGER : CONTROL_MENU;
		break;
	case ControlTypeInteger64:
		d->type = CONTROL_INTEGER;
		break;
	case ControlTypeFloat:
		d->type = CONTROL_FLOAT;
		break;
	case ControlTypeRectangle:
		d->type = CONTROL_RECTANGLE;
		break;
	default:
		return false; // strings, sizes, bytes, points
	}
	to_value(info.min(), d->type, &d->min);
	to_value(info.max(), d->type, &d->max);
	if (info.def().type() == id->type())
		to_value(info.def(), d->type, &d->def);
	else
		d->def = d->min;
	if (d->type == CONTROL_MENU) {
		for (const ControlValue &v : info.values()) {
			if (d->n_menu == CONTROL_MENU_MAX || v.type() != ControlTypeInteger32)
				break;
			control_menu_entry *e = &d->menu[d->n_menu++];
			e->value = v.get<int32_t>();
			snprintf(e->name, sizeof(e->name), "%lld", (long long)e->value);
#ifdef MJPEGD_LIBCAMERA_HAS_ENUMERATORS
			auto it = id->enumerators().find(v.get<int32_t>());
			if (it != id->enumerators().end())
				snprintf(e->name, sizeof(e->name), "%s", it->second.c_str());
#endif
		}
		if (!d->n_menu)
			return false;
	}
	return true;
}

extern "C" int lcshim_controls(lcshim *s, struct control_list *l)
{
	l->n = 0;
	std::vector<std::pair<const ControlId *, const ControlInfo *>> all;
	for (const auto &[id, info] : s->camera->controls())
		all.emplace_back(id, &info);
	// the map is unordered: by id, so the list reads the same every time
	std::sort(all.begin(), all.end(), [](const auto &a, const auto &b) {
		return a.first->id() < b.first->id();
	});
	std::map<unsigned, ControlValue> reported;
	{
		std::lock_guard<std::mutex> guard(s->reported_lock);
		reported = s->reported;
	}
	for (const auto &[id, info] : all) {
		if (l->n == CONTROL_LIST_MAX)
			break;
		control_desc *d = &l->desc[l->n];
		if (!describe_control(id, *info, d))
			continue;
		const ControlValue *cur = nullptr;
		auto rep = reported.find(id->id());
		if (rep != reported.end())
			cur = &rep->second;
		auto it = s->applied_controls.find(id->id());
		if (!cur && it != s->applied_controls.end())
			cur = &it->second;
		if (cur) {
			to_value(*cur, d->type, &d->cur);
			d->has_current = true;
		}
		l->n++;
	}
	return static_cast<int>(l->n);
}

extern "C" int lcshim_set_controls(lcshim *s, const struct control_list *l,
				   const struct control_set *set, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	ControlList next{ controls::controls };
	for (unsigned i = 0; i < set->n; i++) {
		const control_desc *d = &l->desc[set->item[i].index];
		const control_value *v = &set->item[i].value;
		ControlValue value;
		if (d->type == CONTROL_FLOATS) {
			float a[CONTROL_FLOATS_MAX];
			for (unsigned k = 0; k < v->fs.n && k < CONTROL_FLOATS_MAX; k++)
				a[k] = static_cast<float>(v->fs.v[k]);
			value = ControlValue(Span<const float>(a, std::min<size_t>(v->fs.n,
								       CONTROL_FLOATS_MAX)));
			next.set(d->id, value);
			continue;
		}
		switch (d->backend_type) {
		case ControlTypeBool:
			value = ControlValue(v->b);
			break;
		case ControlTypeInteger32:
			value = ControlValue(static_cast<int32_t>(v->i));
			break;
		case ControlTypeInteger64:
			value = ControlValue(static_cast<int64_t>(v->i));
			break;
		case ControlTypeFloat:
			value = ControlValue(static_cast<float>(v->f));
			break;
		case ControlTypeRectangle:
			value = ControlValue(Rectangle(v->r.x, v->r.y, v->r.width, v->r.height));
			break;
		default:
			snprintf(why, whylen, "%s: a control of a type mjpegd cannot set", d->name);
			return -EINVAL;
		}
		next.set(d->id, value);
	}
	// The pipeline handler checks them against its ControlInfoMap when the request is queued;
	// the values were checked against the same map here (control_parse_value()).
	// Requests already queued complete with the old value in their metadata: hold until the
	// one that carries the new value (queued next, after at most all of them) has completed.
	std::lock_guard<std::mutex> guard(s->reported_lock);
	for (const auto &[id, value] : next) {
		s->pending_controls.set(id, value);
		s->applied_controls[id] = value;
		s->reported.erase(id);
		s->reported_hold[id] = s->completed + s->requests.size();
	}
	return 0;
}
