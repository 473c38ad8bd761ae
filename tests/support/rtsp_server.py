"""A loopback RTSP server for the tests (Debian's GStreamer RTSP server, system python3-gi).

Serves a live H.264 test pattern at rtsp://127.0.0.1:PORT/test and prints READY
once it listens. Run with the system interpreter: /usr/bin/python3 rtsp_server.py --port N.
"""

import argparse

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=25)
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=ball ! video/x-raw,width={args.width},"
        f"height={args.height},framerate={args.fps}/1 ! x264enc tune=zerolatency "
        f"speed-preset=ultrafast key-int-max={args.fps} ! rtph264pay name=pay0 pt=96 "
        "config-interval=1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on port {args.port}")
    print("READY", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
