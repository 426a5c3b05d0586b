/* The page served at "/": the stream and a few live figures from /status. */
#include "mjpegd/server.h"

const char server_index_html[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>mjpegd</title>\n"
	"<style>\n"
	"body{margin:0;background:#111;color:#ddd;font:14px system-ui,sans-serif;text-align:center}\n"
	"img{max-width:100%;height:auto;display:block;margin:0 auto;background:#000}\n"
	"#fig{padding:8px;font-variant-numeric:tabular-nums}\n"
	"a{color:#8cf}\n"
	"</style></head><body>\n"
	"<img id=\"stream\" src=\"/stream.mjpg\" alt=\"camera stream\">\n"
	"<div id=\"fig\">connecting…</div>\n"
	"<div><a href=\"/snapshot.jpg\">snapshot</a> · <a href=\"/status\">status</a> · "
	"<a href=\"/metrics\">metrics</a></div>\n"
	"<script>\n"
	"async function tick(){\n"
	" try{const r=await fetch('/status',{cache:'no-store'});const s=await r.json();\n"
	"  document.getElementById('fig').textContent=s.source+' → '+s.encoder+' · '+s.width+'×'+s.height+\n"
	"   ' · '+s.fps_measured.toFixed(1)+' fps · '+s.clients.streams+' viewer(s) · '+\n"
	"   s.frames.sent+' frames sent · '+s.bytes_copied_per_frame+' bytes copied/frame';}\n"
	" catch(e){document.getElementById('fig').textContent='status unavailable: '+e;}\n"
	"}\n"
	"tick();setInterval(tick,1000);\n"
	"</script>\n"
	"</body></html>\n";

const unsigned server_index_html_len = sizeof(server_index_html) - 1;
