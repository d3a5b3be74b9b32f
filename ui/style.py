"""The app's stylesheet (kept in Python so it ships with the package without package-data)."""

CSS = """
.pc-header { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; padding: 4px 2px; }
.pc-logo { font-size: 1.5rem; font-weight: 700; }
.pc-tagline { color: var(--body-text-color-subdued); }
.pc-mode { margin-left: auto; font-size: 0.85rem; padding: 2px 10px; border-radius: 999px;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.pc-cite { font-size: 0.75em; }
.pc-cite-link { text-decoration: none; font-weight: 600; padding: 0 1px; }
.pc-footer { margin-top: 6px; color: var(--body-text-color-subdued); font-size: 0.8rem; }
.pc-abstain { border-left: 4px solid #d97706; background: rgba(217,119,6,0.10);
  padding: 6px 10px; margin-bottom: 8px; border-radius: 4px; }
.pc-warn, .pc-error { border-left: 4px solid #dc2626; background: rgba(220,38,38,0.08);
  padding: 6px 10px; margin-bottom: 8px; border-radius: 4px; }
.pc-msg-sources { margin-top: 8px; font-size: 0.9rem; }
.pc-msg-sources > summary { cursor: pointer; color: var(--body-text-color-subdued); }
#pc-sources .pc-sources { max-height: 72vh; overflow-y: auto; padding-right: 4px; }
.pc-sources-head { font-weight: 600; margin: 4px 0 8px; }
.pc-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin-bottom: 8px; background: var(--background-fill-primary); scroll-margin-top: 60px; }
.pc-card:target { outline: 2px solid var(--color-accent); }
.pc-card-head { font-weight: 600; }
.pc-num { color: var(--color-accent); margin-right: 4px; }
.pc-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 3px 0; }
.pc-uncited { font-style: italic; }
.pc-more > summary { cursor: pointer; color: var(--body-text-color-subdued); }
.pc-compare { border-collapse: collapse; width: 100%; font-size: 0.88rem; margin-bottom: 10px; }
.pc-compare th, .pc-compare td { border: 1px solid var(--border-color-primary); padding: 6px;
  vertical-align: top; text-align: left; }
.pc-not-stated { color: var(--body-text-color-subdued); font-style: italic; }
.pc-snippet { margin: 6px 0 4px; padding: 4px 8px;
  border-left: 3px solid var(--border-color-accent);
  font-size: 0.85rem; color: var(--body-text-color); }
.pc-abstract summary { cursor: pointer; font-size: 0.8rem; color: var(--color-accent); }
.pc-abstract p { font-size: 0.85rem; }
.pc-empty { color: var(--body-text-color-subdued); padding: 8px; font-style: italic; }
.pc-stats table { width: 100%; border-collapse: collapse; border: none; }
.pc-stats tr, .pc-stats th, .pc-stats td { border: none; background: none; }
.pc-stats th { text-align: left; padding: 3px 12px 3px 0; white-space: nowrap; }
.pc-stats td { padding: 3px 0; word-break: break-all; }
.pc-dumps { font-size: 0.85rem; }
.pc-progress { display: flex; align-items: center; gap: 10px; }
.pc-progress progress { flex: 1; height: 14px; }
.pc-report pre { white-space: pre-wrap; font-size: 0.8rem; }
.pc-report-head { font-weight: 600; }
.pc-file { margin: 4px 0; font-size: 0.9rem; }
.pc-file ul { margin: 2px 0 0 18px; }
.pc-file-failed > strong { color: #dc2626; }
.pc-failed .pc-report-head, .pc-notice.pc-error, .pc-issue-error { color: #dc2626; }
.pc-issue-warning { color: #b45309; }
.pc-notice { padding: 4px 0; }
.pc-paper .pc-big { font-size: 1.1rem; font-weight: 600; }
.pc-similar ol { padding-left: 20px; }
.pc-abstain > strong { display: block; margin-bottom: 2px; }
.pc-abstain p { margin: 0; }
/* an opened abstract shows the snippet in place (highlighted), so the snippet block hides */
.pc-card:has(> details.pc-abstract[open]) > .pc-snippet { display: none; }
.pc-abstract mark { background: rgba(250, 204, 21, 0.35); color: inherit; padding: 0 1px; }
.pc-report-counts { font-size: 0.85rem; margin: 4px 0 6px; color: var(--body-text-color-subdued); }

.pc-seen-in { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 2px 0; }
.pc-hf-link { font-size: 0.85rem; }
/* date fields: the input shrinks so the calendar button stays inside the panel */
.pc-date-field input { min-width: 0; flex: 1 1 auto; }
.pc-date-field .timebox { display: flex; max-width: 100%; }
/* paper lists: whole rows are the click target */
#pc-papers tr, #pc-similar tr { cursor: pointer; }
#pc-papers td, #pc-similar td { text-align: left; }
#pc-papers td:nth-child(2), #pc-similar td:nth-child(2) { white-space: nowrap; }
#pc-papers td .prose, #pc-similar td .prose { font-size: 0.9rem; }
/* narrow screens: the question box takes the full width, the Ask button goes below it */
@media (max-width: 640px) {
  #pc-ask-row { flex-direction: column; align-items: stretch; }
  #pc-ask-row > * { width: 100%; min-width: 0 !important; flex: none; }
  #pc-question textarea { min-height: 2.6em; }
}
/* What's new and Trends (ui.whats_new, ui.trends_tab) */
.pc-digest-head { font-size: 1.15rem; font-weight: 700; margin: 2px 0; }
.pc-digest-scope { color: var(--body-text-color-subdued); font-size: 0.85rem; margin-bottom: 8px; }
.pc-topic { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin-bottom: 10px; background: var(--background-fill-primary); }
.pc-topic-head { font-weight: 600; margin-bottom: 4px; }
.pc-topic-head small { font-weight: 400; color: var(--body-text-color-subdued); }
.pc-digest-paper { padding: 6px 0; border-top: 1px solid var(--border-color-primary);
  scroll-margin-top: 60px; }
.pc-digest-paper:target { outline: 2px solid var(--color-accent); }
.pc-summary { font-size: 0.9rem; margin-top: 2px; }
.pc-saved-hits { border-left: 4px solid var(--color-accent); padding: 4px 10px; margin: 6px 0 10px;
  background: var(--background-fill-secondary); border-radius: 4px; }
.pc-saved-hits ul, .pc-arrival-saved { margin: 2px 0 2px 18px; font-size: 0.9rem; }
.pc-saved-list { font-size: 0.9rem; padding-left: 20px; }
.pc-saved-id { color: var(--body-text-color-subdued); font-size: 0.8rem; }
.pc-arrival-line { font-weight: 600; margin-top: 6px; }
.pc-rising > li { margin-bottom: 6px; }
.pc-rising ul { font-size: 0.85rem; margin: 2px 0 0 16px; }
"""
