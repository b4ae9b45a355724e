//! Group commit: jobs that arrive while others are being written wait, and the next
//! writer takes all that wait (up to a most) into one write and one commit. Groups form
//! from what is waiting, never from a timer: a job arriving when no group is being
//! written is written at once, alone. Placement's batches (`ordering/batch.rs`) and the
//! payment attempts' inserts (`attempt_starts.rs`) are both written this way.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Semaphore, oneshot};

/// A queue of jobs of kind `J`, each answered with an `A` once its group is written.
pub(crate) struct GroupCommit<J, A> {
    waiting: Mutex<Vec<(J, oneshot::Sender<Option<A>>)>>,
    /// One permit per group being written, moved into the group's task, so a caller
    /// that goes away cannot end the turn early.
    turns: Arc<Semaphore>,
    most: usize,
}

impl<J: Send + 'static, A: Send + 'static> GroupCommit<J, A> {
    /// Up to `writers` groups written at once, each of at most `most` jobs.
    pub(crate) fn new(writers: usize, most: usize) -> Self {
        Self {
            waiting: Mutex::default(),
            turns: Arc::new(Semaphore::new(writers)),
            most: most.max(1),
        }
    }

    /// Queues `job` and answers what its group's `write` answered for it. `write` gets
    /// the group's jobs in the order they queued and answers one outcome each, in the
    /// same order; it runs in a task of its own, since the group is other callers' jobs
    /// too and must neither be cut off nor left unanswered if this caller goes away.
    /// `None`: the group answered nothing for this job (it failed); the caller writes
    /// the job alone, which gives the exact outcome.
    pub(crate) async fn submit<W, Fut>(&self, job: J, write: W) -> Option<A>
    where
        W: FnOnce(Vec<J>) -> Fut,
        Fut: Future<Output = Vec<Option<A>>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        self.lock_waiting().push((job, answer));
        // Whoever gets a turn takes what is waiting. This job was queued before the
        // turn was asked for, so a turn taken after now writes it, if an earlier one has
        // not. The semaphore is never closed; were it, a later group could still write
        // this job, and the caller's own write would find it done.
        let turn = self.turns.clone().acquire_owned().await.ok()?;
        let group: Vec<_> = {
            let mut waiting = self.lock_waiting();
            let n = waiting.len().min(self.most);
            waiting.drain(..n).collect()
        };
        if group.is_empty() {
            drop(turn);
        } else {
            let (jobs, answers): (Vec<J>, Vec<_>) = group.into_iter().unzip();
            let written = write(jobs);
            tokio::spawn(async move {
                let mut outcomes = written.await.into_iter();
                for answer in answers {
                    // A caller that went away has nobody to answer; its job stands.
                    let _ = answer.send(outcomes.next().flatten());
                }
                drop(turn);
            });
        }
        answered.await.ok().flatten()
    }

    fn lock_waiting(&self) -> MutexGuard<'_, Vec<(J, oneshot::Sender<Option<A>>)>> {
        // Pushing and draining cannot leave the queue half-changed.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::GroupCommit;

    #[tokio::test]
    async fn jobs_that_wait_share_a_group_and_each_gets_its_own_answer() {
        let queue = Arc::new(GroupCommit::<u32, u32>::new(1, 8));
        let groups = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for job in 0..5u32 {
            let (queue, groups, mut released) = (queue.clone(), groups.clone(), released.clone());
            tasks.push(tokio::spawn(async move {
                queue
                    .submit(job, move |jobs| async move {
                        groups.fetch_add(1, Ordering::SeqCst);
                        // The first group holds the only turn until released: the rest
                        // queue meanwhile and go together.
                        let _ = released.wait_for(|r| *r).await;
                        jobs.into_iter()
                            .map(|j| (j != 3).then_some(j * 10))
                            .collect()
                    })
                    .await
            }));
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        assert_eq!(answers, [Some(0), Some(10), Some(20), None, Some(40)]);
        assert!(
            groups.load(Ordering::SeqCst) < 5,
            "the waiting jobs shared groups"
        );
    }

    #[tokio::test]
    async fn a_group_that_answers_too_few_leaves_the_rest_to_write_alone() {
        let queue = GroupCommit::<u32, u32>::new(1, 8);
        let answer = queue.submit(7, |_| async { Vec::new() }).await;
        assert_eq!(answer, None);
    }
}
