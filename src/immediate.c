/* Immediates: Node's setImmediate and clearImmediate.
 *
 * An immediate is a request the caller owns, not a handle: like a Node
 * Immediate it is used once and forgotten, so it has nothing to init or
 * close. A pending one sits on the loop's FIFO through its own node, which
 * makes start and clear O(1) and allocation-free.
 *
 * The check phase runs them before the check handles, as Node does: its
 * immediates run from a check handle it starts before any other. The phase
 * first moves the FIFO to a local list, so an immediate started by a
 * callback of the phase (or by a tick or microtask drained after one) waits
 * for the next iteration, and an immediate cleared by an earlier one leaves
 * the local list before its turn. Each callback takes the one callback
 * path, so ticks and microtasks drain between two immediates, as Node's
 * processImmediate runs them after each.
 *
 * Liveness follows Node's refCount: loop->immediate_refs_ counts pending
 * referenced immediates. While it is non-zero the loop is alive and the
 * poll phase does not block (Node starts an idle handle for that); an
 * unreferenced immediate runs only when the loop reaches a check phase
 * anyway. art_loop_close refuses while any immediate is pending. */
#include "internal.h"

/* immediate->flags_. */
enum {
  IMM_PENDING = 1u << 0, /* on a FIFO, callback not yet started */
  IMM_REF = 1u << 1      /* counted in loop->immediate_refs_ */
};

/* What stamp_ holds while imm is pending on loop: a mix of both addresses,
 * never 0. The caller's memory is not initialised before a first start, so
 * the flags alone could read as pending, and a clear would then unlink
 * garbage pointers; the stamp makes that a 2^-32 chance. */
static unsigned stamp_of(const art_immediate_t *imm, const art_loop_t *loop) {
  uint64_t x = (uint64_t)(uintptr_t)imm ^ ((uint64_t)(uintptr_t)loop << 17);
  return (unsigned)((x * 0x9E3779B97F4A7C15ull) >> 32) | 1u;
}

static int pending(const art_immediate_t *imm) {
  return imm->type == ART_IMMEDIATE && imm->loop != NULL &&
         (imm->flags_ & IMM_PENDING) && imm->stamp_ == stamp_of(imm, imm->loop);
}

/* Takes imm off whichever list holds it: no longer pending or counted. */
static void unqueue(art_immediate_t *imm) {
  art__queue_remove(&imm->node_);
  if (imm->flags_ & IMM_REF)
    imm->loop->immediate_refs_--;
  imm->flags_ = 0;
  imm->stamp_ = 0;
}

int art_immediate_start(art_loop_t *loop, art_immediate_t *imm,
                        art_immediate_cb cb) {
  if (!art__loop_usable(loop) || imm == NULL || cb == NULL)
    return ART_EINVAL;
  if (pending(imm))
    return ART_EBUSY;
  imm->type = ART_IMMEDIATE;
  imm->loop = loop;
  imm->cb_ = cb;
  imm->flags_ = IMM_PENDING | IMM_REF;
  imm->stamp_ = stamp_of(imm, loop);
  loop->immediate_refs_++;
  art__queue_insert_tail(&loop->immediates_, &imm->node_);
  art__res_init(loop, &imm->res_, ART_RESOURCE_REQ, ART_IMMEDIATE, imm);
  return 0;
}

int art_immediate_clear(art_immediate_t *imm) {
  if (imm == NULL)
    return ART_EINVAL;
  if (pending(imm)) {
    art_loop_t *loop = imm->loop;
    unqueue(imm);
    art__res_destroy(loop, imm->res_.id_); /* no callback will end it */
  }
  return 0;
}

void art_immediate_ref(art_immediate_t *imm) {
  if (imm == NULL || !pending(imm) || (imm->flags_ & IMM_REF))
    return;
  imm->flags_ |= IMM_REF;
  imm->loop->immediate_refs_++;
}

void art_immediate_unref(art_immediate_t *imm) {
  if (imm == NULL || !pending(imm) || !(imm->flags_ & IMM_REF))
    return;
  imm->flags_ &= ~IMM_REF;
  imm->loop->immediate_refs_--;
}

int art_immediate_has_ref(const art_immediate_t *imm) {
  return imm != NULL && pending(imm) && (imm->flags_ & IMM_REF) != 0;
}

/* The first half of the check phase: every immediate pending when it
 * began, in start order. Each leaves the list before its callback, so the
 * callback may start it again, clear others or free it. */
void art__run_immediates(art_loop_t *loop) {
  art__queue_t local;
  if (art__queue_empty(&loop->immediates_))
    return;
  art__queue_move(&loop->immediates_, &local);
  while (!art__queue_empty(&local)) {
    art_immediate_t *imm =
        art__container_of(art__queue_head(&local), art_immediate_t, node_);
    unqueue(imm);
    ART__REQ_CALLBACK(loop, imm, imm->cb_, (imm));
  }
}
