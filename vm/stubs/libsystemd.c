/*
 * libsystemd.so.0 for the guest: the functions crun links, each failing with ENOSYS.
 *
 * crun needs libsystemd only for its systemd cgroup manager (sd_bus_*), `--log=journald`
 * (sd_journal_send_with_location) and the sd_notify protocol (sd_notify*). The guest has no systemd:
 * the agent runs crun with the cgroupfs manager, logs to files and sets no NOTIFY_SOCKET, so none of
 * them is ever called. Debian's libsystemd would bring libgcrypt, libzstd, liblzma, liblz4 and
 * libgpg-error along: 3.3 MB of the RAM-backed root, 1.2 MB of the compressed VM snapshot.
 * The version nodes (vm/stubs/libsystemd.map) match what crun's binary asks for.
 */
#include <errno.h>
#include <stddef.h>

#define FAIL { return -ENOSYS; }

int sd_notify(int unset_environment, const char *state) { (void)unset_environment; (void)state; return 0; }
int sd_notify_barrier(int unset_environment, unsigned long long timeout) { (void)unset_environment; (void)timeout; return 0; }
int sd_journal_send_with_location(const char *file, const char *line, const char *func, const char *format, ...) FAIL

typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_error { const char *name; const char *message; int need_free; } sd_bus_error;

int sd_bus_default_system(sd_bus **bus) { if (bus) *bus = NULL; return -ENOSYS; }
int sd_bus_default_user(sd_bus **bus) { if (bus) *bus = NULL; return -ENOSYS; }
sd_bus *sd_bus_unref(sd_bus *bus) { (void)bus; return NULL; }
int sd_bus_call(sd_bus *bus, sd_bus_message *m, unsigned long long usec, sd_bus_error *error, sd_bus_message **reply) FAIL
void sd_bus_error_free(sd_bus_error *e) { if (e) { e->name = NULL; e->message = NULL; e->need_free = 0; } }
int sd_bus_error_get_errno(const sd_bus_error *e) { return e && e->name ? ENOSYS : 0; }
int sd_bus_match_signal_async(sd_bus *bus, void **ret, const char *sender, const char *path, const char *interface,
	const char *member, void *callback, void *install_callback, void *userdata) FAIL
int sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **m, const char *destination, const char *path,
	const char *interface, const char *member) { if (m) *m = NULL; return -ENOSYS; }
int sd_bus_message_append(sd_bus_message *m, const char *types, ...) FAIL
int sd_bus_message_append_strv(sd_bus_message *m, char **l) FAIL
int sd_bus_message_open_container(sd_bus_message *m, char type, const char *contents) FAIL
int sd_bus_message_close_container(sd_bus_message *m) FAIL
int sd_bus_message_read(sd_bus_message *m, const char *types, ...) FAIL
sd_bus_message *sd_bus_message_unref(sd_bus_message *m) { (void)m; return NULL; }
int sd_bus_process(sd_bus *bus, sd_bus_message **r) FAIL
int sd_bus_wait(sd_bus *bus, unsigned long long timeout_usec) FAIL
