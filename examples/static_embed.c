/* A C program that links rsstreamdecoder statically (no .so on the plugin path), registers it
 * with gst_plugin_rsstreamdecoder_register(), decodes a file to 48 kHz mono and prints how many
 * frames came out. Built and run by scripts/static-test.sh:
 *
 *   cargo rustc --release --lib --features static --crate-type staticlib
 *   cc examples/static_embed.c target/release/libgstrsstreamdecoder.a \
 *      $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-base-1.0 gstreamer-audio-1.0) \
 *      -lopus -lm -ldl -lpthread -o static_embed
 */
#include <gst/gst.h>
#include <stdio.h>

void gst_plugin_rsstreamdecoder_register(void);

static guint64 frames;

static void count_frames(GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer data) {
  (void)sink; (void)pad; (void)data;
  frames += gst_buffer_get_size(buffer) / 2; /* S16LE mono */
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  gst_init(NULL, NULL);
  gst_plugin_rsstreamdecoder_register();
  gchar *description = g_strdup_printf(
      "filesrc location=\"%s\" ! rsstreamdecoder ! fakesink name=sink signal-handoffs=true", argv[1]);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch(description, &error);
  g_free(description);
  if (!pipeline) {
    fprintf(stderr, "pipeline: %s\n", error->message);
    return 1;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  g_signal_connect(sink, "handoff", G_CALLBACK(count_frames), NULL);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  int status = 0;
  if (!msg || GST_MESSAGE_TYPE(msg) != GST_MESSAGE_EOS) {
    fprintf(stderr, "no EOS: the decode failed\n");
    status = 1;
  } else {
    printf("statically linked rsstreamdecoder: %" G_GUINT64_FORMAT " frames at 48000 Hz mono\n", frames);
  }
  if (msg)
    gst_message_unref(msg);
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return status;
}
