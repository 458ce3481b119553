/*
 * libsystemd.so.0 for crun in the guest: the symbols crun links against, none of them reachable here.
 * crun calls them only for the systemd cgroup manager (`--systemd-cgroup`; the engine uses cgroupfs),
 * `--log=journald` and $NOTIFY_SOCKET (never set). Debian's libsystemd would load five more libraries
 * (libgcrypt, libgpg-error, liblz4, liblzma, libzstd): about 3 MB of the RAM-backed root and most of
 * the dynamic loader's work in every container start. Each call fails the way libsystemd fails without
 * a systemd to talk to: a negative errno (ENOSYS), or 0 from sd_notify ("no notification socket").
 */
#include <errno.h>
#include <stdarg.h>

typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct sd_bus_slot sd_bus_slot;
typedef struct sd_bus_error sd_bus_error;
typedef unsigned long long uint64;

#define UNAVAILABLE (-ENOSYS)

int sd_notify(int unset_environment, const char *state) { (void)unset_environment; (void)state; return 0; }
int sd_notify_barrier(int unset_environment, uint64 timeout) { (void)unset_environment; (void)timeout; return 0; }
int sd_journal_send_with_location(const char *file, const char *line, const char *func, const char *format, ...) {
	(void)file; (void)line; (void)func; (void)format;
	return UNAVAILABLE;
}

int sd_bus_default_system(sd_bus **bus) { if (bus) *bus = 0; return UNAVAILABLE; }
int sd_bus_default_user(sd_bus **bus) { if (bus) *bus = 0; return UNAVAILABLE; }
sd_bus *sd_bus_unref(sd_bus *bus) { (void)bus; return 0; }
int sd_bus_process(sd_bus *bus, sd_bus_message **ret) { (void)bus; if (ret) *ret = 0; return UNAVAILABLE; }
int sd_bus_wait(sd_bus *bus, uint64 timeout) { (void)bus; (void)timeout; return UNAVAILABLE; }
int sd_bus_call(sd_bus *bus, sd_bus_message *m, uint64 usec, sd_bus_error *error, sd_bus_message **reply) {
	(void)bus; (void)m; (void)usec; (void)error;
	if (reply) *reply = 0;
	return UNAVAILABLE;
}
int sd_bus_match_signal_async(sd_bus *bus, sd_bus_slot **slot, const char *sender, const char *path, const char *interface,
                              const char *member, void *callback, void *install_callback, void *userdata) {
	(void)bus; (void)sender; (void)path; (void)interface; (void)member; (void)callback; (void)install_callback; (void)userdata;
	if (slot) *slot = 0;
	return UNAVAILABLE;
}
int sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **m, const char *destination, const char *path,
                                   const char *interface, const char *member) {
	(void)bus; (void)destination; (void)path; (void)interface; (void)member;
	if (m) *m = 0;
	return UNAVAILABLE;
}
sd_bus_message *sd_bus_message_unref(sd_bus_message *m) { (void)m; return 0; }
int sd_bus_message_append(sd_bus_message *m, const char *types, ...) { (void)m; (void)types; return UNAVAILABLE; }
int sd_bus_message_append_strv(sd_bus_message *m, char **l) { (void)m; (void)l; return UNAVAILABLE; }
int sd_bus_message_open_container(sd_bus_message *m, char type, const char *contents) { (void)m; (void)type; (void)contents; return UNAVAILABLE; }
int sd_bus_message_close_container(sd_bus_message *m) { (void)m; return UNAVAILABLE; }
int sd_bus_message_read(sd_bus_message *m, const char *types, ...) { (void)m; (void)types; return UNAVAILABLE; }
void sd_bus_error_free(sd_bus_error *e) { (void)e; }
int sd_bus_error_get_errno(const sd_bus_error *e) { (void)e; return ENOSYS; }
