"""The words of the batch's own pages (the index and each report's provenance), in both languages.

Values from the data (report names, datasets, parameters) are escaped by the templates
(Jinja autoescaping), never put into these messages as markup.
"""

from __future__ import annotations

from .._i18n import Catalog

MESSAGES = Catalog({
    "en": {
        "index_title": "Community analytics reports",
        "switch_label": "Language",
        "summary": "{ok} of {total} report(s) rendered",
        "summary_failed": "{n} failed",
        "summary_not_run": "{n} not run in the last batch",
        "last_batch": "Last batch started {started} and took {seconds} s on {workers} worker(s); "
                      "git commit {commit}.",
        "col_report": "Report",
        "col_status": "Status",
        "col_dataset": "Dataset",
        "col_parameters": "Parameters",
        "col_duration": "Duration",
        "col_started": "Started ({zone})",
        "col_details": "Details",
        "status_ok": "ok",
        "status_failed": "failed",
        "status_not_run": "not run",
        "seconds": "{s} s",
        "kept_notebook": "executed notebook kept for debugging:",
        "last_good": "the link shows the last good report ({when})",
        "earlier_run": "earlier run",
        "no_last_good": "no earlier good report",
        "warning": "warning: {text}",
        "warn_figure_glyphs": "cell {cell}: a figure has characters its font lacks (drawn as "
                              "boxes)",
        "warn_page_glyphs": "no embedded font draws {chars} (boxes where the reader has no font "
                            "for them, e.g. colour emoji)",
        "warn_external": "the page loads external resources: {urls}",
        "warn_text": "the page shows {problem}",
        "stop": ".",
        "sep": ", ",
        "skipped_no_table": "No “{entry}” report: dataset {dataset} has no {table} table, so "
                            "there is nothing to report on (this is not a failure).",
        "skipped_no_values": "No “{entry}” report: dataset {dataset} has no values of {column} in "
                             "its {table} table (this is not a failure).",
        "skipped_list": "No “{entry}” report: the list of values for {parameter} is empty.",
        "other_reports": "Reports without a language choice",
        "back_to_index": "← All reports",
        "prov_title": "Provenance (parameters, data fingerprint, versions)",
        "prov_report": "Report",
        "prov_notebook": "notebook",
        "prov_dataset": "Dataset",
        "prov_fingerprint": "Dataset fingerprint",
        "prov_fingerprint_files": "(SHA-256 of {n} raw file(s))",
        "prov_commit": "Git commit",
        "prov_dirty": "(+uncommitted changes)",
        "prov_started": "Started",
        "prov_duration": "Duration",
        "prov_duration_split": "{total} s (kernel start and stop {kernel} s, imports {imports} s, "
                               "computation {compute} s, papermill {overhead} s)",
        "prov_parameters": "Parameters",
        "prov_param_name": "name",
        "prov_param_value": "value",
        "prov_param_source": "source",
        "prov_param_help": "meaning",
        "prov_source_batch": "batch",
        "prov_source_default": "notebook default",
        "prov_versions": "Package versions",
    },
    "zh": {
        "index_title": "社群分析报告",
        "switch_label": "语言",
        "summary": "共 {total} 份报告，已生成 {ok} 份",
        "summary_failed": "{n} 份失败",
        "summary_not_run": "{n} 份本次未运行",
        "last_batch": "最近一次批处理开始于 {started}，用时 {seconds} 秒（{workers} 个并行进程）；"
                      "代码版本 {commit}。",
        "col_report": "报告",
        "col_status": "状态",
        "col_dataset": "数据集",
        "col_parameters": "参数",
        "col_duration": "耗时",
        "col_started": "开始时间（{zone}）",
        "col_details": "说明",
        "status_ok": "成功",
        "status_failed": "失败",
        "status_not_run": "未运行",
        "seconds": "{s} 秒",
        "kept_notebook": "已保留执行过的笔记本，便于排查：",
        "last_good": "链接指向上一次成功生成的报告（{when}）",
        "earlier_run": "更早的运行",
        "no_last_good": "没有更早的成功报告",
        "warning": "注意：{text}",
        "warn_figure_glyphs": "第 {cell} 个单元格：图中有字体缺少的字符（显示为方框）",
        "warn_page_glyphs": "内嵌字体没有 {chars} 的字形（读者没有相应字体时显示为方框，例如彩色表情符号）",
        "warn_external": "页面会从外部加载资源：{urls}",
        "warn_text": "页面上出现了 {problem}",
        "stop": "。",
        "sep": "，",
        "skipped_no_table": "未生成「{entry}」报告：数据集 {dataset} 中没有 {table} 表，"
                            "没有可分析的内容（这不是故障）。",
        "skipped_no_values": "未生成「{entry}」报告：数据集 {dataset} 的 {table} 表中 {column} "
                             "没有取值（这不是故障）。",
        "skipped_list": "未生成「{entry}」报告：{parameter} 的取值列表为空。",
        "other_reports": "未区分语言的报告",
        "back_to_index": "← 全部报告",
        "prov_title": "生成信息（参数、数据指纹、版本）",
        "prov_report": "报告",
        "prov_notebook": "笔记本",
        "prov_dataset": "数据集",
        "prov_fingerprint": "数据指纹",
        "prov_fingerprint_files": "（{n} 个原始文件的 SHA-256）",
        "prov_commit": "代码版本（Git）",
        "prov_dirty": "（另有未提交的修改）",
        "prov_started": "开始时间",
        "prov_duration": "耗时",
        "prov_duration_split": "{total} 秒（内核启动与关闭 {kernel} 秒，导入 {imports} 秒，"
                               "计算 {compute} 秒，papermill {overhead} 秒）",
        "prov_parameters": "参数",
        "prov_param_name": "名称",
        "prov_param_value": "取值",
        "prov_param_source": "来源",
        "prov_param_help": "含义",
        "prov_source_batch": "批处理设置",
        "prov_source_default": "笔记本默认值",
        "prov_versions": "软件包版本",
    },
}, name="batch")

#: ``lang`` attribute of each page
HTML_LANG = {"zh": "zh-CN", "en": "en"}
#: how each language is named in the switch
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}


def translator(language: str):
    """``t(key, **values)`` for ``language`` ("" = a notebook without languages: English)."""
    lang = language or "en"
    return lambda key, **values: MESSAGES.t(key, lang, **values)
