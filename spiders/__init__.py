"""Scrapy spiders, one per portal kind; they find dataset pages and yield DatasetItems."""
