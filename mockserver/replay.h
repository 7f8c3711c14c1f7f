/* replay: hogmock answering from fixtures instead of the simulation (--mode replay).
 * A request is routed, authenticated and validated first, as in sim mode; then the
 * fixture that matches it answers, or a 404 not_found names the one that came closest. */
#ifndef HOG_REPLAY_H
#define HOG_REPLAY_H

#include "req.h"

/* Answer r from r->hm's fixtures. */
void replay_answer(struct req *r);

#endif
