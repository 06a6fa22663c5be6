"""kamezawa-sync: KAMEZAWA Hiroyuki's 2009 RFC, synchronous swap freeing at zap.

"[RFC][PATCH] synchrouns swap freeing at zapping vmas", Message-ID
20090521164100.5f6a0b75 (linux-mm, May 2009): where ``free_swap_and_cache`` would give
up (``trylock_page`` failed, page under writeback), take ``lock_page`` and wait so the slot
is freed at zap time.  Base: linux-2.6.31 (so cgroup v1 res + memsw accounting, as the
mmotm-2.6.30 kernels the RFC was written against).  Modelled as lock mode 'lock' in zap plus
a wait for PG_writeback; the wait shows in ``lock_wait_us``.
"""

from swaplab.model.policies import linux_2_6_31

NAME = "kamezawa-sync"
# 2.6.31's rules, with free_swap_and_cache taking lock_page and waiting out writeback
KNOBS = {**linux_2_6_31.KNOBS, "zap_lock": "lock", "zap_wait_writeback": True}
