// The page's first module (main.ts imports it before the UI): the daemon worker, and with it the VM's
// restore, starts before the UI's modules are evaluated. `?backend=fake` runs the UI on fixtures: no VM.
import { startDaemonEarly, vmAssetsUrl } from './host/daemon-start.ts';

if (new URLSearchParams(location.search).get('backend') !== 'fake') startDaemonEarly(vmAssetsUrl());
